{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key='defect_id',
        indexes=[
            {'columns': ['defect_id'], 'unique': true},
            {'columns': ['task_id']},
            {'columns': ['updated_at']},
        ],
    )
}}

{#-
    Every defect with the order and class of the phase that injected it and of the phase
    that removed it, looked up in the agent_roles seed. The lookup is here rather than in
    staging so that staging views stay one-to-one projections of their source (no joins);
    every defect mart reads this model. A phase the seed does not know gets NULL order and
    class (and fails the known_values test on the source).

    Incremental (PostgreSQL): a defect is recomputed when its defect_log row's updated_at
    (stamped on insert and by migration 0005's trigger on every update) is after this
    table's watermark (max(updated_at) - var('incremental_lookback')); delete+insert on
    defect_id replaces it. Defects are never deleted (retention keeps them); a defect deleted
    by hand needs a full refresh. On Spark it is rebuilt whole. The indexes serve the
    increments downstream: fct_defects and fct_task_costs read the defects changed since
    their watermark (updated_at), int_review_outcomes and fct_task_costs a task's defects
    (task_id).

    The phase orders and classes come from the agent_roles seed: rows not recomputed keep
    those they were built with, so a changed seed needs a full refresh of this model and of
    the incremental models built on it (a planned build does that for the incremental
    models downstream of a changed seed; by hand, `asp-telemetry build --full-refresh`).
-#}

with

defects as (
    select * from {{ ref('stg_asp__defect_log') }}
    {% if is_incremental() %}
    where updated_at > {{ incremental_watermark('updated_at') }}
    {% endif %}
),

phases as (
    select * from {{ ref('agent_roles') }}
),

final as (
    select
        defects.defect_id,
        defects.task_id,
        defects.project_id,
        defects.defect_type,
        defects.severity,
        defects.phase_injected,
        defects.phase_removed,
        injected_phase.phase_order as injected_order,
        removed_phase.phase_order as removed_order,
        injected_phase.phase_class as injected_class,
        removed_phase.phase_class as removed_class,
        defects.component_path,
        defects.function_name,
        defects.line_number,
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
        defects.updated_at
    from defects
    left join phases as injected_phase
        on injected_phase.agent_role = defects.phase_injected
    left join phases as removed_phase
        on removed_phase.agent_role = defects.phase_removed
)

select * from final
