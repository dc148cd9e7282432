{#-
    Every defect with the order and class of the phase that injected it and of the phase
    that removed it, looked up in the agent_roles seed. The lookup is here rather than in
    staging so that staging views stay one-to-one projections of their source (no joins);
    every defect mart reads this model. A phase the seed does not know gets NULL order and
    class (and fails the known_values test on the source).
-#}

with

defects as (
    select * from {{ ref('stg_asp__defect_log') }}
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
