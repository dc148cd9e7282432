{#-
    The specification's Query 5 per agent role, over all time and over the recent window
    (var cost_window_days, default 30): executions that started at or after the build time
    minus the window (var as_of replaces the build time, for tests and back-dated reports).
    avg_latency_ms averages the Latency rows, as Query 5 does. Both vars are validated and
    typed in macros/vars.sql.

    Reads what changed, never every execution: sums come from fct_daily_role_costs (all time,
    and the window's whole days after its first), the window's first UTC day from the
    executions that started in it at or after window_start (through the execution_date
    index), and distinct tasks from int_role_tasks (one row per role and task, with its latest
    start: a task is in the window when its latest start is). Sums and counts are exact when
    summed again; distinct tasks are counted from the pairs, never summed.
-#}

{%- set as_of = timestamp_var('as_of') or build_time() %}
{%- set window_days = positive_integer_var('cost_window_days', largest=36500) %}

with

window_bounds as (
    select
        {{ as_of }} as as_of,
        {{ days_before(as_of, window_days) }} as window_start
),

daily_costs as (
    select
        execution_date,
        agent_role,
        executions,
        total_cost_usd,
        cost_from_prices_usd,
        unpriced_executions,
        total_latency_ms,
        latency_samples,
        total_tokens_in,
        total_tokens_out
    from {{ ref('fct_daily_role_costs') }}
),

role_tasks as (
    select
        agent_role,
        last_started_at
    from {{ ref('int_role_tasks') }}
),

-- the window's days after its first, whole
recent_days as (
    select
        agent_role,
        total_cost_usd as cost_usd,
        total_latency_ms as latency_ms,
        latency_samples,
        total_tokens_in as tokens_in,
        total_tokens_out as tokens_out,
        executions
    from daily_costs
    where execution_date > (select {{ utc_date('window_bounds.window_start') }} from window_bounds)
),

-- the window's first day, from window_start on
recent_first_day as (
    select
        agent_role,
        cost_usd,
        latency_ms,
        latency_samples,
        tokens_in,
        tokens_out,
        1 as executions
    from {{ ref('int_agent_executions') }}
    where
        execution_date = (select {{ utc_date('window_bounds.window_start') }} from window_bounds)
        and started_at >= (select window_bounds.window_start from window_bounds)
),

recent_executions as (
    select
        recent_days.agent_role,
        recent_days.cost_usd,
        recent_days.latency_ms,
        recent_days.latency_samples,
        recent_days.tokens_in,
        recent_days.tokens_out,
        recent_days.executions
    from recent_days
    union all
    select
        recent_first_day.agent_role,
        recent_first_day.cost_usd,
        recent_first_day.latency_ms,
        recent_first_day.latency_samples,
        recent_first_day.tokens_in,
        recent_first_day.tokens_out,
        recent_first_day.executions
    from recent_first_day
),

phases as (
    select
        agent_role,
        phase_order
    from {{ ref('agent_roles') }}
),

all_time_sums as (
    select
        agent_role,
        sum(total_cost_usd) as total_cost_usd,
        sum(cost_from_prices_usd) as cost_from_prices_usd,
        cast(sum(unpriced_executions) as bigint) as unpriced_executions,
        {{ ratio('sum(total_latency_ms)', 'sum(latency_samples)') }} as avg_latency_ms,
        sum(total_tokens_in) + sum(total_tokens_out) as total_tokens,
        cast(sum(executions) as bigint) as executions
    from daily_costs
    group by agent_role
),

task_counts as (
    select
        agent_role,
        count(*) as tasks_executed,
        {{ count_where("last_started_at >= (select window_bounds.window_start from window_bounds)") }}
            as tasks_executed_30d
    from role_tasks
    group by agent_role
),

recent_sums as (
    select
        agent_role,
        coalesce(sum(cost_usd), 0) as total_cost_usd_30d,
        {{ ratio('sum(latency_ms)', 'sum(latency_samples)') }} as avg_latency_ms_30d,
        coalesce(sum(tokens_in), 0) + coalesce(sum(tokens_out), 0) as total_tokens_30d,
        cast(sum(executions) as bigint) as executions_30d
    from recent_executions
    group by agent_role
),

final as (
    select
        all_time_sums.agent_role,
        task_counts.tasks_executed,
        all_time_sums.total_cost_usd,
        all_time_sums.avg_latency_ms,
        all_time_sums.total_tokens,
        task_counts.tasks_executed_30d,
        coalesce(recent_sums.total_cost_usd_30d, 0) as total_cost_usd_30d,
        recent_sums.avg_latency_ms_30d,
        coalesce(recent_sums.total_tokens_30d, 0) as total_tokens_30d,
        all_time_sums.executions,
        coalesce(recent_sums.executions_30d, 0) as executions_30d,
        all_time_sums.cost_from_prices_usd,
        all_time_sums.unpriced_executions,
        phases.phase_order,
        window_bounds.window_start,
        window_bounds.as_of
    from all_time_sums
    inner join task_counts on task_counts.agent_role = all_time_sums.agent_role
    left join recent_sums on recent_sums.agent_role = all_time_sums.agent_role
    left join phases on phases.agent_role = all_time_sums.agent_role
    cross join window_bounds
)

select * from final
