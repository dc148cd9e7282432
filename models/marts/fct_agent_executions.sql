{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='execution_key',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['task_id']},
            {'columns': ['started_at']},
        ],
    )
}}

{#-
    One row per agent execution: the executions int_agent_executions recomputed since this
    table's watermark (last_loaded_at), replaced by execution_key.
-#}

with

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
        metric_rows,
        last_loaded_at
    from {{ ref('int_agent_executions') }}
    {% if is_incremental() %}
    where last_loaded_at > {{ incremental_watermark() }}
    {% endif %}
)

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
    metric_rows,
    last_loaded_at
from final
