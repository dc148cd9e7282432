{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key='task_id',
        indexes=[
            {'columns': ['task_id'], 'unique': true},
            {'columns': ['last_loaded_at']},
        ],
    )
}}

{#-
    Per-task totals over all of a task's agent executions (metrics.md, "Agent executions and
    task totals"). A metric a task never reported sums to 0, as in the specification's
    Query 1; a task with no cost rows at all has no row here.

    Incremental, like int_agent_executions: the candidates are the tasks with executions
    loaded after this table's watermark (max(last_loaded_at) - var('incremental_lookback'));
    a candidate is recomputed when its executions hold more cost rows than this table has
    counted for it.
-#}

with

{% if is_incremental() %}
candidate_executions as (
    select
        task_id,
        metric_rows
    from {{ ref('int_agent_executions') }}
    where last_loaded_at > {{ incremental_watermark() }}
),

candidate_tasks as (
    select distinct task_id
    from candidate_executions
),

current_row_counts as (
    select
        task_id,
        sum(metric_rows) as cost_rows
    from {{ ref('int_agent_executions') }}
    where task_id = any(array(select candidate_tasks.task_id from candidate_tasks))
    group by task_id
),

touched_tasks as (
    select current_row_counts.task_id
    from current_row_counts
    left join {{ this }} as counted on counted.task_id = current_row_counts.task_id
    where counted.cost_rows is distinct from current_row_counts.cost_rows
),
{% endif %}

executions as (
    select
        task_id,
        project_id,
        latency_ms,
        tokens_in,
        tokens_out,
        cost_usd,
        cost_source,
        tool_calls,
        retries,
        metric_rows,
        last_loaded_at
    from {{ ref('int_agent_executions') }}
    {% if is_incremental() %}
    where task_id = any(array(select touched_tasks.task_id from touched_tasks))
    {% endif %}
),

final as (
    select
        task_id,
        max(project_id) as project_id,
        count(*) as executions,
        cast(sum(metric_rows) as bigint) as cost_rows,
        coalesce(sum(latency_ms), 0) as actual_latency_ms,
        coalesce(sum(tokens_in), 0) as actual_tokens_in,
        coalesce(sum(tokens_out), 0) as actual_tokens_out,
        coalesce(sum(tokens_in), 0) + coalesce(sum(tokens_out), 0) as actual_tokens,
        -- every cost is built from cost_usd: reported where a source reported one, else priced
        coalesce(sum(cost_usd), 0) as actual_api_cost_usd,
        coalesce({{ agg_where('sum', 'cost_usd', "cost_source = 'priced'") }}, 0) as cost_from_prices_usd,
        {{ count_where("cost_source = 'unpriced'") }} as unpriced_executions,
        coalesce(sum(tool_calls), 0) as tool_calls,
        coalesce(sum(retries), 0) as retries,
        max(last_loaded_at) as last_loaded_at
    from executions
    group by task_id
)

select * from final
