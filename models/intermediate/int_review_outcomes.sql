{#-
    What each review phase R (int_review_phases) did with each task's defects, metrics.md
    "Review effectiveness": true positives, false positives, pending validations and misses
    among the defects removed in R, and the real defects that escaped R (present when it ran,
    found later). One row per (task, review phase) with anything to count.
    mart_review_effectiveness sums it over all tasks, mart_bootstrap_snapshot over a period's
    tasks, so the counting rule lives here only.
-#}

with

review_phases as (
    select * from {{ ref('int_review_phases') }}
),

defects as (
    select
        defect_id,
        task_id,
        phase_removed,
        injected_order,
        removed_order,
        is_real,
        flagged_by_agent,
        validated_by_human,
        false_positive
    from {{ ref('int_defects_phased') }}
),

defects_seen_by_review as (
    select
        defects.task_id,
        review_phases.review_phase,
        defects.phase_removed = review_phases.review_phase as removed_in_review,
        defects.is_real
        and defects.injected_order < review_phases.phase_order
        and defects.removed_order > review_phases.phase_order as escaped_review,
        defects.is_real,
        defects.flagged_by_agent,
        defects.validated_by_human,
        defects.false_positive
    from review_phases
    inner join defects
        on
            defects.phase_removed = review_phases.review_phase
            or (
                defects.is_real
                and defects.injected_order < review_phases.phase_order
                and defects.removed_order > review_phases.phase_order
            )
),

final as (
    select
        task_id,
        review_phase,
        {{ count_where("removed_in_review and flagged_by_agent and validated_by_human and is_real") }}
            as true_positives,
        {{ count_where("removed_in_review and flagged_by_agent and false_positive") }} as false_positives,
        {{ count_where("removed_in_review and flagged_by_agent and is_real and not validated_by_human") }}
            as pending_validation,
        {{ count_where("removed_in_review and not flagged_by_agent and is_real") }} as missed_in_phase,
        {{ count_where("escaped_review") }} as escapes
    from defects_seen_by_review
    group by task_id, review_phase
)

select
    task_id,
    review_phase,
    true_positives,
    false_positives,
    pending_validation,
    missed_in_phase,
    escapes
from final
