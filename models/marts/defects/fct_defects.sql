{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key='defect_id',
        indexes=[
            {'columns': ['source_changed_at']},
        ],
    )
}}

{#-
    One row per defect_log row, false positives included (is_real tells them apart), with
    the order of the phases that injected and removed it and its fix effort unpacked from
    effort_to_fix_json.

    Incremental (PostgreSQL): a defect is recomputed when its row in int_defects_phased has
    an updated_at after this table's watermark (max(source_changed_at) -
    var('incremental_lookback')); delete+insert on defect_id replaces it. Everything but the
    seeds comes from the defect's own row (its project too). On Spark it is rebuilt whole.
    The phase orders and classes (agent_roles) and the taxonomy (defect_types) are the
    seeds' as the row was built: a changed seed needs a full refresh (a planned build does
    that for the incremental models downstream of a changed seed).
-#}

with

defects as (
    select * from {{ ref('int_defects_phased') }}
    {% if is_incremental() %}
    where updated_at > {{ incremental_watermark('source_changed_at') }}
    {% endif %}
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
        defects.removed_class,
        defects.updated_at as source_changed_at
    from defects
    left join defect_types on defect_types.defect_type = defects.defect_type
)

select * from final
