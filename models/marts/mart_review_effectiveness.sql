{#-
    Review agent effectiveness per review phase R (every agent_roles phase of class
    appraisal), metrics.md "Review effectiveness". Corrects the specification's Query 3:
    false positives are not defects, escapes (real defects present when R ran and found
    later) count as false negatives, and precision is called precision. Ratios with a zero
    denominator are NULL.
-#}

with

review_phases as (
    select
        agent_role as review_phase,
        phase_order
    from {{ ref('agent_roles') }}
    where phase_class = 'appraisal'
),

defects as (
    select
        defect_id,
        phase_removed,
        injected_order,
        removed_order,
        is_real,
        flagged_by_agent,
        validated_by_human,
        false_positive
    from {{ ref('int_defects_phased') }}
),

phase_yields as (
    select
        phase,
        phase_yield_pct
    from {{ ref('mart_phase_yield') }}
),

review_counts as (
    select
        review_phases.review_phase,
        review_phases.phase_order,
        count(defects.defect_id) filter (
            where defects.phase_removed = review_phases.review_phase
            and defects.flagged_by_agent and defects.validated_by_human and defects.is_real
        ) as true_positives,
        count(defects.defect_id) filter (
            where defects.phase_removed = review_phases.review_phase
            and defects.flagged_by_agent and defects.false_positive
        ) as false_positives,
        count(defects.defect_id) filter (
            where defects.phase_removed = review_phases.review_phase
            and defects.flagged_by_agent and defects.is_real and not defects.validated_by_human
        ) as pending_validation,
        count(defects.defect_id) filter (
            where defects.phase_removed = review_phases.review_phase
            and not defects.flagged_by_agent and defects.is_real
        ) as missed_in_phase,
        count(defects.defect_id) filter (
            where defects.is_real
            and defects.injected_order < review_phases.phase_order
            and defects.removed_order > review_phases.phase_order
        ) as escapes
    from review_phases
    left join defects on true
    group by review_phases.review_phase, review_phases.phase_order
),

final as (
    select
        review_counts.review_phase,
        review_counts.true_positives,
        review_counts.false_positives,
        review_counts.pending_validation,
        review_counts.missed_in_phase,
        review_counts.escapes,
        review_counts.missed_in_phase + review_counts.escapes as false_negatives,
        {{ ratio_pct('review_counts.true_positives', 'review_counts.true_positives + review_counts.false_positives') }} as precision_pct,
        {{ ratio_pct('review_counts.false_positives', 'review_counts.true_positives + review_counts.false_positives') }} as false_positive_rate_pct,
        {{ ratio_pct('review_counts.true_positives', 'review_counts.true_positives + review_counts.missed_in_phase + review_counts.escapes') }} as recall_pct,
        {{ ratio_pct('review_counts.missed_in_phase + review_counts.escapes', 'review_counts.true_positives + review_counts.missed_in_phase + review_counts.escapes') }} as escape_rate_pct,
        phase_yields.phase_yield_pct as yield_pct,
        review_counts.phase_order
    from review_counts
    left join phase_yields on phase_yields.phase = review_counts.review_phase
)

select
    review_phase,
    true_positives,
    false_positives,
    pending_validation,
    missed_in_phase,
    escapes,
    false_negatives,
    precision_pct,
    false_positive_rate_pct,
    recall_pct,
    escape_rate_pct,
    yield_pct,
    phase_order
from final
