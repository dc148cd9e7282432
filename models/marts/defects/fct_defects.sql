{#-
    One row per defect_log row, false positives included (is_real tells them apart), with
    the order of the phases that injected and removed it and its fix effort unpacked from
    effort_to_fix_json.
-#}

with

defects as (
    select * from {{ ref('int_defects_phased') }}
),

defect_types as (
    select * from {{ ref('defect_types') }}
),

final as (
    select
        defects.defect_id,
        defects.task_id,
        defects.defect_type,
        defects.severity,
        defects.phase_injected,
        defects.phase_removed,
        defects.injected_order,
        defects.removed_order,
        defects.component_path,
        defects.is_real,
        defects.flagged_by_agent,
        defects.validated_by_human,
        defects.false_positive,
        defects.fix_latency_ms,
        defects.fix_tokens,
        defects.fix_api_cost_usd,
        defects.fix_retries,
        defects.created_at,
        defects.resolved_at,
        defects.project_id,
        defect_types.taxonomy as defect_taxonomy,
        defects.injected_class,
        defects.removed_class
    from defects
    left join defect_types on defect_types.defect_type = defects.defect_type
)

select * from final
