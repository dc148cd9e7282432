{#-
    PSP process yield for the whole data set (metrics.md): 100 * real defects removed before
    the first phase of class failure / real defects injected before that phase. NULL when no
    such defect exists or the agent_roles seed has no failure phase.
-#}

with

first_failure_phase as (
    select min(phase_order) as failure_order
    from {{ ref('agent_roles') }}
    where phase_class = 'failure'
),

real_defects as (
    select
        defect_id,
        injected_order,
        removed_order
    from {{ ref('int_defects_phased') }}
    where is_real
),

counts as (
    select
        count(real_defects.defect_id) as real_defects,
        {{ agg_where(
            'count', 'real_defects.defect_id', 'real_defects.removed_order < first_failure_phase.failure_order'
        ) }} as removed_before_failure,
        {{ agg_where(
            'count', 'real_defects.defect_id', 'real_defects.injected_order < first_failure_phase.failure_order'
        ) }} as injected_before_failure
    from first_failure_phase
    left join real_defects on true
),

final as (
    select
        {{ ratio_pct('removed_before_failure', 'injected_before_failure') }} as process_yield_pct,
        real_defects,
        removed_before_failure,
        injected_before_failure
    from counts
)

select * from final
