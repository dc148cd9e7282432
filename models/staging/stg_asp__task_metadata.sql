with

source as (
    -- explicit columns: ingestion may add columns to the raw table
    select
        task_id,
        created_at,
        started_at,
        completed_at,
        project_id,
        task_type,
        task_description,
        estimated_complexity,
        actual_complexity,
        estimated_cost_vector_json,
        actual_cost_vector_json,
        bootstrap_phase,
        human_reviewed,
        status,
        loaded_at,
        updated_at
    from {{ source('asp', 'task_metadata') }}
),

final as (
    select
        {{ as_text('task_id') }} as task_id,
        created_at,
        started_at,
        completed_at,
        -- places the task in a bootstrap measurement period (metrics.md, "Bootstrap learning")
        coalesce(completed_at, created_at) as period_at,
        {{ as_text('project_id') }} as project_id,
        {{ as_text('task_type') }} as task_type,
        task_description,
        estimated_complexity,
        actual_complexity,
        estimated_cost_vector_json,
        {{ json_number('estimated_cost_vector_json', 'latency_ms') }} as estimated_latency_ms,
        {{ json_number('estimated_cost_vector_json', 'tokens') }} as estimated_tokens,
        {{ json_number('estimated_cost_vector_json', ['api_cost_usd', 'api_cost']) }} as estimated_api_cost_usd,
        actual_cost_vector_json,
        {{ as_text('bootstrap_phase') }} as bootstrap_phase,
        human_reviewed,
        {{ as_text('status') }} as status,
        loaded_at,
        updated_at
    from source
)

select * from final
