{#-
    Defect injection, removal and PSP phase yield per phase (metrics.md, "Defect
    injection/removal and yield"), for every phase of the agent_roles seed. Only real
    defects count.
      escaped_into    = ord(phase_injected) < ord(P) <= ord(phase_removed)
      phase_yield_pct = 100 * removed / (escaped_into + injected), NULL when nothing was there
-#}

with

phases as (
    select
        agent_role as phase,
        phase_order,
        phase_class
    from {{ ref('agent_roles') }}
),

real_defects as (
    select
        defect_id,
        phase_injected,
        phase_removed,
        injected_order,
        removed_order
    from {{ ref('int_defects_phased') }}
    where is_real
),

phase_counts as (
    select
        phases.phase,
        phases.phase_order,
        phases.phase_class,
        {{ agg_where('count', 'real_defects.defect_id', "real_defects.phase_injected = phases.phase") }} as injected,
        {{ agg_where('count', 'real_defects.defect_id', "real_defects.phase_removed = phases.phase") }} as removed,
        {{ agg_where(
            'count', 'real_defects.defect_id',
            'real_defects.injected_order < phases.phase_order and phases.phase_order <= real_defects.removed_order'
        ) }} as escaped_into
    from phases
    left join real_defects on true
    group by phases.phase, phases.phase_order, phases.phase_class
),

final as (
    select
        phase,
        phase_order,
        injected,
        removed,
        escaped_into,
        {{ ratio_pct('removed', 'escaped_into + injected') }} as phase_yield_pct,
        phase_class
    from phase_counts
)

select * from final
