{#-
    PSP phase quality per phase of the agent_roles seed (metrics.md, "Cost of quality and
    phase quality"): the phase's effort in time and money, the real defects it injected and
    removed, those per hour of its effort (and removed per dollar), and its defect removal
    leverage: its removal rate over the removal rate of the failure phases taken together.
      injection_rate_per_hour = 3,600,000 * defects_injected / effort_ms
      removal_rate_per_hour   = 3,600,000 * defects_removed / effort_ms
      drl                     = removal_rate_per_hour / (failure removed / failure hours)
    A rate is NULL when its phase has no effort; drl is NULL when the failure phases'
    rate is 0 or NULL (computed from the counts, so that no rounded rate is divided).
-#}

with

phases as (
    select
        agent_role as phase,
        phase_order,
        phase_class
    from {{ ref('agent_roles') }}
),

effort as (
    select
        agent_role,
        execution_key,
        effort_ms,
        effort_usd
    from {{ ref('int_execution_effort') }}
),

real_defects as (
    select
        phase_injected,
        phase_removed
    from {{ ref('int_defects_phased') }}
    where is_real
),

phase_effort as (
    select
        agent_role,
        count(execution_key) as executions,
        {{ trimmed('coalesce(sum(effort_ms), 0)') }} as effort_ms,
        {{ trimmed('coalesce(sum(effort_usd), 0)') }} as effort_usd
    from effort
    group by agent_role
),

injected_counts as (
    select
        phase_injected as phase,
        count(*) as defects_injected
    from real_defects
    group by phase_injected
),

removed_counts as (
    select
        phase_removed as phase,
        count(*) as defects_removed
    from real_defects
    group by phase_removed
),

phase_counts as (
    select
        phases.phase,
        phases.phase_order,
        phases.phase_class,
        coalesce(phase_effort.effort_ms, 0) as effort_ms,
        coalesce(phase_effort.effort_usd, 0) as effort_usd,
        coalesce(injected_counts.defects_injected, 0) as defects_injected,
        coalesce(removed_counts.defects_removed, 0) as defects_removed,
        coalesce(phase_effort.executions, 0) as executions
    from phases
    left join phase_effort on phase_effort.agent_role = phases.phase
    left join injected_counts on injected_counts.phase = phases.phase
    left join removed_counts on removed_counts.phase = phases.phase
),

failure_totals as (
    select
        sum(defects_removed) as failure_defects_removed,
        sum(effort_ms) as failure_effort_ms
    from phase_counts
    where phase_class = 'failure'
),

final as (
    select
        phase_counts.phase,
        phase_counts.phase_order,
        phase_counts.phase_class,
        phase_counts.effort_ms,
        phase_counts.effort_usd,
        phase_counts.defects_injected,
        phase_counts.defects_removed,
        {{ ratio('3600000 * phase_counts.defects_injected', 'phase_counts.effort_ms') }} as injection_rate_per_hour,
        {{ ratio('3600000 * phase_counts.defects_removed', 'phase_counts.effort_ms') }} as removal_rate_per_hour,
        {{ ratio('phase_counts.defects_removed', 'phase_counts.effort_usd') }} as removal_rate_per_usd,
        case
            when
                phase_counts.effort_ms <> 0
                and failure_totals.failure_effort_ms <> 0
                and failure_totals.failure_defects_removed <> 0
                then {{ ratio(
                    'phase_counts.defects_removed * failure_totals.failure_effort_ms',
                    'phase_counts.effort_ms * failure_totals.failure_defects_removed'
                ) }}
        end as drl,
        phase_counts.executions,
        {{ ratio('3600000 * failure_totals.failure_defects_removed', 'failure_totals.failure_effort_ms') }}
            as failure_removal_rate_per_hour
    from phase_counts
    cross join failure_totals
)

select * from final
