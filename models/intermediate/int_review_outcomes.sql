{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key='task_id',
        pre_hook=["{{ remove_rows_of_changed_tasks() }}"],
        indexes=[
            {'columns': ['task_id', 'review_phase'], 'unique': true},
            {'columns': ['source_changed_at']},
        ],
    )
}}

{#-
    What each review phase R (int_review_phases) did with each task's defects, metrics.md
    "Review effectiveness": true positives, false positives, pending validations and misses
    among the defects removed in R, and the real defects that escaped R (present when it ran,
    found later). One row per (task, review phase) with anything to count.
    mart_review_effectiveness sums it over all tasks, mart_bootstrap_snapshot over a period's
    tasks, so the counting rule lives here only.

    Incremental (PostgreSQL): a task is recomputed, all its rows from all its defects, when
    one of its defects in int_defects_phased has an updated_at after this table's watermark
    (max(source_changed_at) - var('incremental_lookback')); the pre-hook
    remove_rows_of_changed_tasks (macros/tasks_with_changed_defects.sql) deletes the task's
    rows first, so a task left with nothing to count has none, as in a full refresh. The
    review phases (int_review_phases) and the phase orders come from the agent_roles seed:
    rows not recomputed keep those they were built with, so a changed seed needs a full
    refresh (a planned build does that for the incremental models downstream of a changed
    seed). On Spark it is rebuilt whole.
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
        false_positive,
        updated_at
    from {{ ref('int_defects_phased') }}
    {% if is_incremental() %}
    -- a semi-join, not = any(array(...)): without an index on task_id (a table built before
    -- this model was incremental keeps its old indexes) that is a scan of the whole array
    -- per defect, quadratic when every task changed (an upgrade)
    where task_id in ({{ tasks_with_changed_defects() }})
    {% endif %}
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
        defects.false_positive,
        defects.updated_at
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
        {{ count_where("escaped_review") }} as escapes,
        max(updated_at) as source_changed_at
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
    escapes,
    source_changed_at
from final
