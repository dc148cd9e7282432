{#-
    Per-task totals over all of a task's agent executions (metrics.md, "Agent executions and
    task totals"). A metric a task never reported sums to 0, as in the specification's
    Query 1; a task with no cost rows at all has no row here.
-#}

with

executions as (
    select
        task_id,
        project_id,
        latency_ms,
        tokens_in,
        tokens_out,
        api_cost_usd,
        tool_calls,
        retries,
        metric_rows
    from {{ ref('int_agent_executions') }}
),

final as (
    select
        task_id,
        max(project_id) as project_id,
        count(*) as executions,
        sum(metric_rows)::bigint as cost_rows,
        coalesce(sum(latency_ms), 0) as actual_latency_ms,
        coalesce(sum(tokens_in), 0) as actual_tokens_in,
        coalesce(sum(tokens_out), 0) as actual_tokens_out,
        coalesce(sum(tokens_in), 0) + coalesce(sum(tokens_out), 0) as actual_tokens,
        coalesce(sum(api_cost_usd), 0) as actual_api_cost_usd,
        coalesce(sum(tool_calls), 0) as tool_calls,
        coalesce(sum(retries), 0) as retries
    from executions
    group by task_id
)

select * from final
