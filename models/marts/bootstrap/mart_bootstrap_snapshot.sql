{#-
    Each bootstrap-learning capability measured over one period (metrics.md, "Bootstrap
    learning"): the rows a snapshot records into raw.bootstrap_metrics as they are
    (`asp-telemetry snapshot`, the pipeline; snapshot.py only copies them). The period is
    int_bootstrap_period's, by default the 14 days ending at the build.

    A task belongs to the period when its period_at (completed_at, else created_at) falls
    inside it. PROBE_AI: MAPE of the cost estimates of the period's completed tasks; secondary
    the MAPE of tokens and latency and the r_squared of the cost regression over the period's
    PROBE data set (macro linear_fit, as mart_probe_fits). TaskDecomposition: MAPE of the
    estimated complexity. ReviewAgent_Design, ReviewAgent_Code: the precision of their review
    phase over the defects of all the period's tasks (int_review_outcomes, macro
    review_ratios). A capability whose inputs are absent gets no row; one the
    bootstrap_capabilities seed does not configure neither. graduation_criteria_met: enough
    tasks and the value meets the target in its metric's direction (bootstrap_metric_directions).
-#}

with

snapshot_period as (
    select * from {{ ref('int_bootstrap_period') }}
),

period_tasks as (
    select task_metadata.task_id
    from {{ ref('stg_asp__task_metadata') }} as task_metadata
    cross join snapshot_period
    where
        task_metadata.period_at >= snapshot_period.period_start
        and task_metadata.period_at < snapshot_period.period_end
),

completed_tasks as (
    select task_costs.*
    from {{ ref('fct_task_costs') }} as task_costs
    inner join period_tasks on period_tasks.task_id = task_costs.task_id
    where task_costs.status = 'completed'
),

estimates as (
    select
        count(*) as completed_tasks,
        {{ count_where(mape_keeps('actual_api_cost_usd', 'estimated_api_cost_usd')) }} as cost_tasks,
        {{ mape('actual_api_cost_usd', 'estimated_api_cost_usd') }} as cost_mape,
        {{ mape('actual_tokens', 'estimated_tokens') }} as tokens_mape,
        {{ mape('actual_latency_ms', 'estimated_latency_ms') }} as latency_mape,
        {{ count_where(mape_keeps('actual_complexity', 'estimated_complexity')) }} as complexity_tasks,
        {{ mape('actual_complexity', 'estimated_complexity') }} as complexity_mape
    from completed_tasks
),

cost_observations as (
    select
        {{ as_number('dataset.proxy') }} as x,
        dataset.actual_api_cost_usd as y
    from {{ ref('mart_probe_dataset') }} as dataset
    inner join period_tasks on period_tasks.task_id = dataset.task_id
),

{{ linear_fit('cost_observations', [], 'cost_fit') }},

review_counts as (
    select
        outcomes.review_phase,
        sum(outcomes.true_positives) as true_positives,
        sum(outcomes.false_positives) as false_positives,
        sum(outcomes.missed_in_phase) as missed_in_phase,
        sum(outcomes.escapes) as escapes
    from {{ ref('int_review_outcomes') }} as outcomes
    inner join period_tasks on period_tasks.task_id = outcomes.task_id
    group by outcomes.review_phase
),

review_effectiveness as (
    select
        review_phase,
        {{ review_ratios('review_counts') }}
    from review_counts
),

-- the review phase each review agent capability is measured on
review_capabilities as (
    select
        capability_name,
        review_phase
    from (
        values
        ('ReviewAgent_Design', 'DesignReview'),
        ('ReviewAgent_Code', 'CodeReview')
    ) as review_capabilities (capability_name, review_phase)
),

measurements as (
    select
        'PROBE_AI' as capability_name,
        estimates.cost_tasks as tasks_completed,
        estimates.cost_mape as metric_value,
        {{ json_object([
            ('tokens_mape', 'estimates.tokens_mape'),
            ('latency_mape', 'estimates.latency_mape'),
            ('r_squared', 'cost_fit.r_squared'),
        ]) }} as secondary_metrics_json
    from estimates
    cross join cost_fit
    where estimates.cost_tasks > 0
    union all
    select
        'TaskDecomposition' as capability_name,
        complexity_tasks as tasks_completed,
        complexity_mape as metric_value,
        {{ json_object([]) }} as secondary_metrics_json
    from estimates
    where complexity_tasks > 0
    union all
    select
        review_capabilities.capability_name,
        estimates.completed_tasks as tasks_completed,
        review_effectiveness.precision_pct as metric_value,
        {{ json_object([
            ('false_positive_rate', 'review_effectiveness.false_positive_rate_pct'),
            ('escape_rate', 'review_effectiveness.escape_rate_pct'),
            ('recall', 'review_effectiveness.recall_pct'),
        ]) }} as secondary_metrics_json
    from review_capabilities
    inner join review_effectiveness on review_effectiveness.review_phase = review_capabilities.review_phase
    cross join estimates
    -- no precision: the review agent flagged nothing in the period
    where review_effectiveness.precision_pct is not null
),

capabilities as (
    select * from {{ ref('bootstrap_capabilities') }}
),

metric_directions as (
    select * from {{ ref('bootstrap_metric_directions') }}
),

evaluated as (
    select
        measurements.capability_name,
        capabilities.capability_mode,
        measurements.tasks_completed,
        capabilities.tasks_required_for_graduation,
        capabilities.primary_metric_name,
        measurements.metric_value,
        {{ as_number('capabilities.primary_metric_target') }} as primary_metric_target,
        metric_directions.direction,
        measurements.secondary_metrics_json,
        coalesce(
            {{ meets_target(
                'measurements.metric_value', 'capabilities.primary_metric_target', 'metric_directions.direction'
            ) }},
            false
        ) as meets_target
    from measurements
    inner join capabilities on capabilities.capability_name = measurements.capability_name
    left join metric_directions on metric_directions.metric_name = capabilities.primary_metric_name
),

final as (
    select
        evaluated.capability_name,
        evaluated.capability_mode,
        evaluated.tasks_completed,
        evaluated.tasks_required_for_graduation,
        evaluated.primary_metric_name,
        round(evaluated.metric_value, 4) as primary_metric_value,
        evaluated.primary_metric_target,
        evaluated.direction,
        evaluated.tasks_completed >= evaluated.tasks_required_for_graduation
        and evaluated.meets_target as graduation_criteria_met,
        {{ sql_format('%s tasks completed, %s needed to graduate; %s %s %s the target %s (%s)', [
            'evaluated.tasks_completed', 'evaluated.tasks_required_for_graduation', 'evaluated.primary_metric_name',
            rounded_text('evaluated.metric_value', 2),
            "case when evaluated.meets_target then 'meets' else 'misses' end",
            trimmed_text('evaluated.primary_metric_target'), "replace(evaluated.direction, '_', ' ')",
        ]) }} as graduation_notes,
        evaluated.secondary_metrics_json,
        snapshot_period.period_start as measurement_period_start,
        snapshot_period.period_end as measurement_period_end
    from evaluated
    cross join snapshot_period
)

select * from final
