with

source as (
    -- explicit columns: ingestion may add columns to the raw table
    select
        defect_id,
        created_at,
        resolved_at,
        task_id,
        project_id,
        defect_type,
        severity,
        phase_injected,
        phase_removed,
        component_path,
        function_name,
        line_number,
        effort_to_fix_json,
        description,
        root_cause,
        resolution_notes,
        flagged_by_agent,
        validated_by_human,
        false_positive,
        metadata,
        loaded_at,
        updated_at
    from {{ source('asp', 'defect_log') }}
),

final as (
    select
        {{ as_text('defect_id') }} as defect_id,
        created_at,
        resolved_at,
        {{ as_text('task_id') }} as task_id,
        {{ as_text('project_id') }} as project_id,
        {{ as_text('defect_type') }} as defect_type,
        {{ as_text('severity') }} as severity,
        {{ as_text('phase_injected') }} as phase_injected,
        {{ as_text('phase_removed') }} as phase_removed,
        component_path,
        {{ as_text('function_name') }} as function_name,
        line_number,
        effort_to_fix_json,
        {{ json_number('effort_to_fix_json', 'latency_ms') }} as fix_latency_ms,
        {{ json_number('effort_to_fix_json', 'tokens') }} as fix_tokens,
        {{ json_number('effort_to_fix_json', ['api_cost_usd', 'api_cost']) }} as fix_api_cost_usd,
        {{ json_number('effort_to_fix_json', 'retries') }} as fix_retries,
        description,
        root_cause,
        resolution_notes,
        -- the columns default to FALSE; a NULL is read as that default
        coalesce(flagged_by_agent, false) as flagged_by_agent,
        coalesce(validated_by_human, false) as validated_by_human,
        coalesce(false_positive, false) as false_positive,
        not coalesce(false_positive, false) as is_real,
        metadata,
        loaded_at,
        updated_at
    from source
)

select * from final
