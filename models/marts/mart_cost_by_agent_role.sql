{#-
    The specification's Query 5 per agent role, over all time and over the recent window
    (var cost_window_days, default 30): executions that started at or after the build time
    minus the window (var as_of replaces the build time, for tests and back-dated reports).
    avg_latency_ms averages the Latency rows, as Query 5 does. Read from the agent
    executions, never from the raw cost rows.
-#}

{%- set as_of = "'" ~ var('as_of') ~ "'::timestamptz" if var('as_of', none) else 'now()' %}

with

window_bounds as (
    select
        {{ as_of }} as as_of,
        {{ as_of }} - make_interval(days => {{ var('cost_window_days') }}) as window_start
),

executions as (
    select
        agent_role,
        task_id,
        started_at,
        api_cost_usd,
        latency_ms,
        latency_samples,
        tokens_in,
        tokens_out
    from {{ ref('int_agent_executions') }}
),

phases as (
    select
        agent_role,
        phase_order
    from {{ ref('agent_roles') }}
),

executions_in_window as (
    select
        executions.agent_role,
        executions.task_id,
        executions.api_cost_usd,
        executions.latency_ms,
        executions.latency_samples,
        executions.tokens_in,
        executions.tokens_out,
        executions.started_at >= window_bounds.window_start as in_window
    from executions
    cross join window_bounds
),

role_totals as (
    select
        agent_role,
        count(distinct task_id) as tasks_executed,
        coalesce(sum(api_cost_usd), 0) as total_cost_usd,
        {{ ratio('sum(latency_ms)', 'sum(latency_samples)') }} as avg_latency_ms,
        coalesce(sum(tokens_in), 0) + coalesce(sum(tokens_out), 0) as total_tokens,
        count(distinct task_id) filter (where in_window) as tasks_executed_30d,
        coalesce(sum(api_cost_usd) filter (where in_window), 0) as total_cost_usd_30d,
        {{ ratio('sum(latency_ms) filter (where in_window)', 'sum(latency_samples) filter (where in_window)') }} as avg_latency_ms_30d,
        coalesce(sum(tokens_in) filter (where in_window), 0)
            + coalesce(sum(tokens_out) filter (where in_window), 0) as total_tokens_30d,
        count(*) as executions,
        count(*) filter (where in_window) as executions_30d
    from executions_in_window
    group by agent_role
),

final as (
    select
        role_totals.agent_role,
        role_totals.tasks_executed,
        role_totals.total_cost_usd,
        role_totals.avg_latency_ms,
        role_totals.total_tokens,
        role_totals.tasks_executed_30d,
        role_totals.total_cost_usd_30d,
        role_totals.avg_latency_ms_30d,
        role_totals.total_tokens_30d,
        role_totals.executions,
        role_totals.executions_30d,
        phases.phase_order,
        window_bounds.window_start,
        window_bounds.as_of
    from role_totals
    cross join window_bounds
    left join phases on phases.agent_role = role_totals.agent_role
)

select
    agent_role,
    tasks_executed,
    total_cost_usd,
    avg_latency_ms,
    total_tokens,
    tasks_executed_30d,
    total_cost_usd_30d,
    avg_latency_ms_30d,
    total_tokens_30d,
    executions,
    executions_30d,
    phase_order,
    window_start,
    as_of
from final
