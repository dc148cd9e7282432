{#-
    Review agent effectiveness per review phase R (every agent_roles phase of class
    appraisal), metrics.md "Review effectiveness": the per-task counts of
    int_review_outcomes summed over all tasks, and their ratios. Corrects the specification's Query 3:
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

review_outcomes as (
    select
        review_phase,
        true_positives,
        false_positives,
        pending_validation,
        missed_in_phase,
        escapes
    from {{ ref('int_review_outcomes') }}
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
        coalesce(sum(review_outcomes.true_positives), 0)::bigint as true_positives,
        coalesce(sum(review_outcomes.false_positives), 0)::bigint as false_positives,
        coalesce(sum(review_outcomes.pending_validation), 0)::bigint as pending_validation,
        coalesce(sum(review_outcomes.missed_in_phase), 0)::bigint as missed_in_phase,
        coalesce(sum(review_outcomes.escapes), 0)::bigint as escapes
    from review_phases
    left join review_outcomes on review_outcomes.review_phase = review_phases.review_phase
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
