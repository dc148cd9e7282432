{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key='execution_key',
        indexes=[
            {'columns': ['execution_key'], 'unique': true},
            {'columns': ['last_loaded_at']},
            {'columns': ['execution_date']},
            {'columns': ['task_id']},
            {'columns': ['started_at']},
        ],
    )
}}

{#-
    The long cost vector pivoted to one row per agent execution.

    Incremental, exact under append-only raw rows (asp_writer can neither update nor delete
    cost rows): the candidates are the tasks with cost rows loaded after the watermark
    (max(last_loaded_at) - var('incremental_lookback'), read through the BRIN index on
    loaded_at); of those, a task is recomputed when its raw row count differs from the rows
    this table has seen for it. So rows a long load commits late (with a loaded_at older than
    the watermark) are picked up, while rows already seen inside the lookback window cost a
    count, not a re-pivot. Recomputed executions replace their old rows by execution_key.
-#}

with

{% if is_incremental() %}
candidate_tasks as (
    select distinct task_id
    from {{ ref('stg_asp__agent_cost_vector') }}
    where loaded_at > {{ incremental_watermark() }}
),

raw_row_counts as (
    select
        task_id,
        count(*) as cost_rows
    from {{ ref('stg_asp__agent_cost_vector') }}
    where task_id = any(array(select candidate_tasks.task_id from candidate_tasks))
    group by task_id
),

seen_row_counts as (
    select
        task_id,
        sum(metric_rows) as cost_rows
    from {{ this }}
    where task_id = any(array(select candidate_tasks.task_id from candidate_tasks))
    group by task_id
),

touched_tasks as (
    select raw_row_counts.task_id
    from raw_row_counts
    left join seen_row_counts on seen_row_counts.task_id = raw_row_counts.task_id
    where seen_row_counts.cost_rows is distinct from raw_row_counts.cost_rows
),
{% endif %}

cost_rows as (
    select
        task_id,
        subtask_id,
        agent_role,
        agent_iteration,
        execution_id,
        recorded_at,
        project_id,
        agent_version,
        metric_type,
        metric_value,
        llm_model,
        llm_provider,
        loaded_at
    from {{ ref('stg_asp__agent_cost_vector') }}
    {% if is_incremental() %}
    -- = any(array(...)) makes PostgreSQL look the tasks up through the task_id index,
    -- whatever it estimates for the freshly loaded rows
    where task_id = any(array(select touched_tasks.task_id from touched_tasks))
    {% endif %}
),

executions as (
    select
        task_id,
        subtask_id,
        agent_role,
        agent_iteration,
        execution_id,
        min(recorded_at) as started_at,
        {{ agg_where('sum', 'metric_value', "metric_type = 'Latency'") }} as latency_ms,
        {{ count_where("metric_type = 'Latency'") }} as latency_samples,
        {{ agg_where('sum', 'metric_value', "metric_type = 'Tokens_In'") }} as tokens_in,
        {{ agg_where('sum', 'metric_value', "metric_type = 'Tokens_Out'") }} as tokens_out,
        {{ agg_where('sum', 'metric_value', "metric_type = 'Tokens_Cache_Read'") }} as cache_read_tokens,
        {{ agg_where('sum', 'metric_value', "metric_type = 'Tokens_Cache_Write'") }} as cache_write_tokens,
        {{ agg_where('sum', 'metric_value', "metric_type = 'API_Cost'") }} as api_cost_usd,
        {{ agg_where('sum', 'metric_value', "metric_type = 'Tool_Calls'") }} as tool_calls,
        {{ agg_where('sum', 'metric_value', "metric_type = 'Retries'") }} as retries,
        {{ agg_where('max', 'metric_value', "metric_type = 'Memory_Usage'") }} as peak_memory_mb,
        count(*) as metric_rows,
        -- one value per execution in well-formed data; max() picks one deterministically
        max(project_id) as project_id,
        max(llm_model) as llm_model,
        max(llm_provider) as llm_provider,
        max(agent_version) as agent_version,
        max(loaded_at) as last_loaded_at
    from cost_rows
    group by task_id, subtask_id, agent_role, agent_iteration, execution_id
),

prices as (
    select
        llm_provider,
        llm_model,
        priority,
        effective_from,
        daily_from,
        daily_to,
        input_tokens_above,
        input_per_mtok,
        output_per_mtok,
        cache_read_per_mtok,
        cache_write_per_mtok,
        requests_per_k,
        price_source
    from {{ ref('stg_pricing__model_prices') }}
),

-- The price in force at each execution's start (docs/metrics.md, "Cost"), as genai-prices
-- chooses it: of the prices active then (from effective_from; inside the daily window) the
-- last one, else the first; of its tiers the highest the input tokens exceed.
executions_with_prices as (
    {{ price_in_force('executions', 'prices') }}
),

-- Tokens x price (genai-prices' calc_price): cache reads and writes at their own prices
-- where the model has them, else inside the input tokens (Tokens_In counts them); the rest
-- of the input at the input price. NULL without a price or without any token row.
priced_executions as (
    select
        *,
        case
            when
                price_source is not null
                and coalesce(tokens_in, tokens_out, cache_read_tokens, cache_write_tokens) is not null
                then {{ trimmed('(
                    coalesce(input_per_mtok, 0) * greatest(
                        coalesce(tokens_in, 0)
                        - case when cache_read_per_mtok is not null then coalesce(cache_read_tokens, 0) else 0 end
                        - case when cache_write_per_mtok is not null then coalesce(cache_write_tokens, 0) else 0 end,
                        0
                    )
                    + coalesce(output_per_mtok, 0) * coalesce(tokens_out, 0)
                    + coalesce(cache_read_per_mtok, 0) * coalesce(cache_read_tokens, 0)
                    + coalesce(cache_write_per_mtok, 0) * coalesce(cache_write_tokens, 0)
                ) * 0.000001
                + coalesce(requests_per_k, 0) * 0.001') }}
        end as priced_cost_usd
    from executions_with_prices
),

final as (
    select
        {{ surrogate_key(['task_id', 'subtask_id', 'agent_role', 'agent_iteration', 'execution_id']) }}
            as execution_key,
        task_id,
        subtask_id,
        agent_role,
        agent_iteration,
        execution_id,
        started_at,
        {{ utc_date('started_at') }} as execution_date,
        project_id,
        latency_ms,
        latency_samples,
        tokens_in,
        tokens_out,
        cache_read_tokens,
        cache_write_tokens,
        api_cost_usd,
        priced_cost_usd,
        coalesce(api_cost_usd, priced_cost_usd) as cost_usd,
        case
            when api_cost_usd is not null then 'reported'
            when priced_cost_usd is not null then 'priced'
            else 'unpriced'
        end as cost_source,
        price_source,
        tool_calls,
        retries,
        peak_memory_mb,
        metric_rows,
        llm_model,
        llm_provider,
        agent_version,
        last_loaded_at
    from priced_executions
)

select * from final
