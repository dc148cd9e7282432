{#-
    PSP cost of quality per project, and one row '(all)' for every task together
    (metrics.md, "Cost of quality and phase quality"): the effort of the appraisal phases
    (reviews) and of the failure phases (Test) as shares of all effort, and the
    appraisal/failure ratio, in time (latency) and in money. A project is its tasks' (as in
    fct_task_costs); tasks without one are '(none)'. Formulas: macros/cost_of_quality.sql.
    Reads each task's effort per week (int_task_week_effort), not every execution.
-#}

with

task_weeks as (
    select * from {{ ref('int_task_week_effort') }}
),

-- a task's weeks summed (sums add up); its project is the same in every week
task_effort as (
    select
        task_weeks.project_id,
        task_weeks.task_id,
        sum(task_weeks.executions) as executions,
        sum(task_weeks.total_latency_ms) as total_latency_ms,
        sum(task_weeks.appraisal_latency_ms) as appraisal_latency_ms,
        sum(task_weeks.failure_latency_ms) as failure_latency_ms,
        sum(task_weeks.total_cost_usd) as total_cost_usd,
        sum(task_weeks.appraisal_cost_usd) as appraisal_cost_usd,
        sum(task_weeks.failure_cost_usd) as failure_cost_usd
    from task_weeks
    group by task_weeks.project_id, task_weeks.task_id
),

-- the '(all)' row from an aggregate without group by, which gives its row even when there
-- is no task (Spark's grouping sets give no row for empty input, PostgreSQL's do)
scope_sums as (
    select
        coalesce(task_effort.project_id, '(none)') as project_id,
        {{ cost_of_quality_sums('task_effort') }}
    from task_effort
    group by task_effort.project_id
    union all
    select
        '(all)' as project_id,
        {{ cost_of_quality_sums('task_effort') }}
    from task_effort
),

final as (
    select
        scope_sums.project_id,
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
