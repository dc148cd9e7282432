{#-
    The PROBE-AI regression of each target on the proxy (macro linear_fit, metrics.md
    "PROBE-AI") for every scope the estimator offers (`asp-telemetry estimate`, probe.py):
    all tasks, one task_type, one project_id, one task_type within one project_id. NULL in
    task_type or project_id means "any": a task whose own task_type (project_id) is NULL
    counts only in the scopes that do not filter on it. The overall fit of every target is
    listed even without data (n = 0: PROBE method D); the other scopes only where they have
    data. mart_probe_model publishes the overall rows.
-#}

with

dataset as (
    select * from {{ ref('mart_probe_dataset') }}
),

targets as (
    select target
    from (values ('latency_ms'), ('tokens'), ('api_cost_usd')) as targets (target)
),

-- one row per task and target (a union rather than a lateral VALUES: both engines read it)
observations as (
    {%- for target_name, column in [
        ('latency_ms', 'actual_latency_ms'), ('tokens', 'actual_tokens'), ('api_cost_usd', 'actual_api_cost_usd')
    ] %}
    select
        '{{ target_name }}' as target,  -- noqa: RF04
        task_type,
        project_id,
        {{ as_number('proxy') }} as x,
        {{ column }} as y
    from dataset
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

scoped_observations as (
    select
        target,
        {{ as_text('null') }} as task_type,
        {{ as_text('null') }} as project_id,
        x,
        y
    from observations
    union all
    select
        target,
        task_type,
        {{ as_text('null') }} as project_id,
        x,
        y
    from observations
    where task_type is not null
    union all
    select
        target,
        {{ as_text('null') }} as task_type,
        project_id,
        x,
        y
    from observations
    where project_id is not null
    union all
    select
        target,
        task_type,
        project_id,
        x,
        y
    from observations
    where task_type is not null and project_id is not null
),

{{ linear_fit('scoped_observations', ['target', 'task_type', 'project_id'], 'fits') }},

scopes as (
    select
        target,
        {{ as_text('null') }} as task_type,
        {{ as_text('null') }} as project_id
    from targets
    union
    select
        target,
        task_type,
        project_id
    from fits
),

final as (
    select
        scopes.target,
        case
            when scopes.task_type is null and scopes.project_id is null then 'all'
            when scopes.project_id is null then 'task_type'
            when scopes.task_type is null then 'project_id'
            else 'task_type and project_id'
        end as scope,
        scopes.task_type,
        scopes.project_id,
        coalesce(fits.n, 0) as n,
        fits.x_avg,
        fits.sxx,
        fits.beta0,
        fits.beta1,
        fits.r_squared,
        fits.sigma,
        fits.y_avg,
        fits.sum_x,
        fits.sum_y,
        fits.t_statistic,
        fits.averaging_beta1
    from scopes
    left join fits
        on
            fits.target = scopes.target
            and fits.task_type is not distinct from scopes.task_type
            and fits.project_id is not distinct from scopes.project_id
)

select * from final
