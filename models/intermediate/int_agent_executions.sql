{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='execution_key',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['execution_key'], 'unique': true},
            {'columns': ['last_loaded_at']},
            {'columns': ['execution_date']},
            {'columns': ['task_id']},
        ],
    )
}}

{#-
    The long cost vector pivoted to one row per agent execution. Incremental: a run
    recomputes every execution of each task that has cost rows loaded after the watermark
    (see macro incremental_watermark), reading those tasks' rows through the task_id index.
-#}

with

{% if is_incremental() %}
touched_tasks as (
    select distinct task_id
    from {{ ref('stg_asp__agent_cost_vector') }}
    where loaded_at > {{ incremental_watermark() }}
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
    where task_id in (select task_id from touched_tasks)
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
        sum(metric_value) filter (where metric_type = 'Latency') as latency_ms,
        count(*) filter (where metric_type = 'Latency') as latency_samples,
        sum(metric_value) filter (where metric_type = 'Tokens_In') as tokens_in,
        sum(metric_value) filter (where metric_type = 'Tokens_Out') as tokens_out,
        sum(metric_value) filter (where metric_type = 'API_Cost') as api_cost_usd,
        sum(metric_value) filter (where metric_type = 'Tool_Calls') as tool_calls,
        sum(metric_value) filter (where metric_type = 'Retries') as retries,
        max(metric_value) filter (where metric_type = 'Memory_Usage') as peak_memory_mb,
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

final as (
    select
        {{ surrogate_key(['task_id', 'subtask_id', 'agent_role', 'agent_iteration', 'execution_id']) }} as execution_key,
        task_id,
        subtask_id,
        agent_role,
        agent_iteration,
        execution_id,
        started_at,
        (started_at at time zone 'UTC')::date as execution_date,
        project_id,
        latency_ms,
        latency_samples,
        tokens_in,
        tokens_out,
        api_cost_usd,
        tool_calls,
        retries,
        peak_memory_mb,
        metric_rows,
        llm_model,
        llm_provider,
        agent_version,
        last_loaded_at
    from executions
)

select * from final
