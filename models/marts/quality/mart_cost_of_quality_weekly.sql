{#-
    mart_cost_of_quality per UTC week (Monday to Sunday): the same figures over the
    executions that started in the week, per project and '(all)', so that a team sees its
    cost of quality and appraisal/failure ratio move. Formulas: macros/cost_of_quality.sql.
    Reads each task's effort per week (int_task_week_effort), not every execution.
-#}

with

-- one row per task and week, with its effort by phase class
task_effort as (
    select * from {{ ref('int_task_week_effort') }}
),

scope_sums as (
    select
        task_effort.week_start,
        case
            when grouping(task_effort.project_id) = 1 then '(all)'
            else coalesce(task_effort.project_id, '(none)')
        end as project_id,
        {{ cost_of_quality_sums('task_effort') }}
    from task_effort
    group by grouping sets ((task_effort.week_start, task_effort.project_id), (task_effort.week_start))
),

final as (
    select
        scope_sums.project_id,
        scope_sums.week_start,
        scope_sums.tasks,
        scope_sums.total_latency_ms,
        scope_sums.appraisal_latency_ms,
        scope_sums.failure_latency_ms,
        scope_sums.total_cost_usd,
        scope_sums.appraisal_cost_usd,
        scope_sums.failure_cost_usd,
        {{ cost_of_quality_ratios('scope_sums') }},
        scope_sums.executions
    from scope_sums
)

select * from final
