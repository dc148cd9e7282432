with

source as (
    -- explicit columns: ingestion may add columns to the raw table
    select
        id,
        "timestamp",
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
        "timestamp" as recorded_at,
        execution_date,
        task_id::text as task_id,
        subtask_id::text as subtask_id,
        project_id::text as project_id,
        agent_role::text as agent_role,
        agent_version::text as agent_version,
        agent_iteration,
        (metadata ->> 'execution_id') as execution_id,
        metric_type::text as metric_type,
        metric_value::numeric as metric_value,
        metric_unit::text as metric_unit,
        llm_model::text as llm_model,
        llm_provider::text as llm_provider,
        metadata,
        loaded_at
    from source
)

select * from final
