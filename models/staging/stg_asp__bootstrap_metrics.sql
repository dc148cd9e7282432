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
        capability_name::text as capability_name,
        capability_mode::text as capability_mode,
        tasks_completed,
        tasks_required_for_graduation,
        primary_metric_name::text as primary_metric_name,
        primary_metric_value::numeric as primary_metric_value,
        primary_metric_target::numeric as primary_metric_target,
        secondary_metrics_json,
        coalesce(graduation_criteria_met, false) as graduation_criteria_met,
        graduation_notes,
        loaded_at
    from source
)

select * from final
