with

source as (
    -- explicit columns: ingestion may add columns to the raw table
    select
        id,
        {{ adapter.quote("timestamp") }},
        execution_date,
        task_id,
        subtask_id,
        project_id,
        agent_role,
        agent_version,
        agent_iteration,
        metric_type,
        metric_value,
        metric_unit,
        llm_model,
        llm_provider,
        metadata,
        loaded_at
    from {{ source('asp', 'agent_cost_vector') }}
),

final as (
    select
        id as cost_row_id,
        {{ adapter.quote("timestamp") }} as recorded_at,
        execution_date,
        {{ as_text('task_id') }} as task_id,
        {{ as_text('subtask_id') }} as subtask_id,
        {{ as_text('project_id') }} as project_id,
        {{ as_text('agent_role') }} as agent_role,
        {{ as_text('agent_version') }} as agent_version,
        agent_iteration,
        {{ json_text('metadata', 'execution_id') }} as execution_id,
        {{ as_text('metric_type') }} as metric_type,
        {{ as_number('metric_value') }} as metric_value,
        {{ as_text('metric_unit') }} as metric_unit,
        {{ as_text('llm_model') }} as llm_model,
        {{ as_text('llm_provider') }} as llm_provider,
        metadata,
        loaded_at
    from source
)

select * from final
