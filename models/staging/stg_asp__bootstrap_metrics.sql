with

source as (
    -- explicit columns: ingestion may add columns to the raw table
    select
        id,
        measured_at,
        measurement_period_start,
        measurement_period_end,
        capability_name,
        capability_mode,
        tasks_completed,
        tasks_required_for_graduation,
        primary_metric_name,
        primary_metric_value,
        primary_metric_target,
        secondary_metrics_json,
        graduation_criteria_met,
        graduation_notes,
        loaded_at
    from {{ source('asp', 'bootstrap_metrics') }}
),

final as (
    select
        id as bootstrap_metric_id,
        measured_at,
        measurement_period_start,
        measurement_period_end,
        {{ as_text('capability_name') }} as capability_name,
        {{ as_text('capability_mode') }} as capability_mode,
        tasks_completed,
        tasks_required_for_graduation,
        {{ as_text('primary_metric_name') }} as primary_metric_name,
        {{ as_number('primary_metric_value') }} as primary_metric_value,
        {{ as_number('primary_metric_target') }} as primary_metric_target,
        secondary_metrics_json,
        coalesce(graduation_criteria_met, false) as graduation_criteria_met,
        graduation_notes,
        loaded_at
    from source
)

select * from final
