{#-
    Review agent effectiveness per review phase R (int_review_phases), metrics.md "Review
    effectiveness": the per-task counts of int_review_outcomes summed over all tasks, and
    their ratios (macro review_ratios). Corrects the specification's Query 3: false positives
    are not defects, escapes (real defects present when R ran and found later) count as false
    negatives, and precision is called precision. Ratios with a zero denominator are NULL.
-#}

with

review_phases as (
    select * from {{ ref('int_review_phases') }}
),

review_outcomes as (
    select * from {{ ref('int_review_outcomes') }}
),

phase_yields as (
    select * from {{ ref('mart_phase_yield') }}
),

review_counts as (
    select
        review_phases.review_phase,
        review_phases.phase_order,
        cast(coalesce(sum(review_outcomes.true_positives), 0) as bigint) as true_positives,
        cast(coalesce(sum(review_outcomes.false_positives), 0) as bigint) as false_positives,
        cast(coalesce(sum(review_outcomes.pending_validation), 0) as bigint) as pending_validation,
        cast(coalesce(sum(review_outcomes.missed_in_phase), 0) as bigint) as missed_in_phase,
        cast(coalesce(sum(review_outcomes.escapes), 0) as bigint) as escapes
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
        {{ review_ratios('review_counts') }},
        phase_yields.phase_yield_pct as yield_pct,
        review_counts.phase_order
    from review_counts
    left join phase_yields on phase_yields.phase = review_counts.review_phase
)

select * from final
