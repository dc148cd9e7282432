-- The incremental fct_daily_role_costs must add up to the incremental fct_agent_executions:
-- per agent role, the same executions, cost rows and cost. A row here is a role where they
-- drifted apart (run asp-telemetry build --full-refresh, and report it).

with

from_executions as (
    select
        agent_role,
        count(*) as executions,
        sum(metric_rows) as cost_rows,
        coalesce(sum(cost_usd), 0) as total_cost_usd
    from {{ ref('fct_agent_executions') }}
    group by agent_role
),

from_days as (
    select
        agent_role,
        sum(executions) as executions,
        sum(cost_rows) as cost_rows,
        sum(total_cost_usd) as total_cost_usd
    from {{ ref('fct_daily_role_costs') }}
    group by agent_role
),

final as (
    select
        coalesce(from_executions.agent_role, from_days.agent_role) as agent_role,
        from_executions.executions as executions_in_fct_agent_executions,
        from_days.executions as executions_in_fct_daily_role_costs,
        from_executions.total_cost_usd as cost_in_fct_agent_executions,
        from_days.total_cost_usd as cost_in_fct_daily_role_costs
    from from_executions
    full outer join from_days on from_days.agent_role = from_executions.agent_role
    where
        from_executions.executions is distinct from from_days.executions
        or from_executions.cost_rows is distinct from from_days.cost_rows
        or {{ sums_differ('from_executions.total_cost_usd', 'from_days.total_cost_usd') }}
)

select * from final
