{#-
    The PSP defect injection/removal matrix: real defects per (phase_injected,
    phase_removed) with their average fix effort from effort_to_fix_json.
-#}

with

real_defects as (
    select
        phase_injected,
        phase_removed,
        injected_order,
        removed_order,
        fix_latency_ms,
        fix_tokens,
        fix_api_cost_usd,
        fix_retries
    from {{ ref('int_defects_phased') }}
    where is_real
),

final as (
    select
        phase_injected,
        phase_removed,
        count(*) as defect_count,
        {{ trimmed('avg(fix_latency_ms)') }} as avg_fix_latency_ms,
        {{ trimmed('avg(fix_tokens)') }} as avg_fix_tokens,
        {{ trimmed('avg(fix_api_cost_usd)') }} as avg_fix_api_cost_usd,
        {{ trimmed('avg(fix_retries)') }} as avg_fix_retries,
        min(injected_order) as injected_order,
        min(removed_order) as removed_order
    from real_defects
    group by phase_injected, phase_removed
)

select * from final
