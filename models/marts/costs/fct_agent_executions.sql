{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key='execution_key',
        indexes=[
            {'columns': ['task_id']},
            {'columns': ['started_at']},
        ],
    )
}}

{#-
    One row per agent execution, published from int_agent_executions. Incremental: the
    executions int_agent_executions holds with last_loaded_at after this table's watermark
    (max(last_loaded_at) - var('incremental_lookback')) that differ from this table's row
    (new, or more cost rows) replace their rows by execution_key.
-#}

with

executions as (
    select * from {{ ref('int_agent_executions') }}
),

final as (
    select
        execution_key,
        task_id,
        subtask_id,
        agent_role,
        agent_iteration,
        execution_id,
        started_at,
        latency_ms,
        tokens_in,
        tokens_out,
        api_cost_usd,
        tool_calls,
        retries,
        llm_model,
        llm_provider,
        agent_version,
        execution_date,
        project_id,
        peak_memory_mb,
        cache_read_tokens,
        cache_write_tokens,
        priced_cost_usd,
        cost_usd,
        cost_source,
        price_source,
        metric_rows,
        last_loaded_at
    from executions
    {% if is_incremental() %}
    where
        executions.last_loaded_at > {{ incremental_watermark() }}
        and not exists (
            select 1
            from {{ this }} as published
            where
                published.execution_key = executions.execution_key
                and published.metric_rows = executions.metric_rows
                and published.last_loaded_at = executions.last_loaded_at
        )
    {% endif %}
)

select * from final
