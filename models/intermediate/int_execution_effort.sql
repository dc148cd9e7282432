{{ config(materialized='view') }}

{#-
    The effort of every agent execution in time and in money (metrics.md, "Cost of quality
    and phase quality"), with the PSP phase it was spent in (agent_roles seed), its task's
    project and the UTC week it started in. The one place that says what effort is:
    effort_ms is the execution's Latency and effort_usd its cost. Every quality mart reads
    effort from here, so pointing effort_usd at another cost column changes them all.

    The project is the task's (fct_task_costs): its task_metadata row's, else its cost
    rows'. A view: int_task_week_effort sums it per task and week for the cost-of-quality
    marts (recomputing the tasks whose executions were loaded or whose task row was updated
    after its watermark, hence last_loaded_at and task_updated_at); mart_phase_quality
    aggregates it per role.
-#}

with

executions as (
    select
        execution_key,
        task_id,
        agent_role,
        started_at,
        latency_ms,
        cost_usd,
        last_loaded_at
    from {{ ref('int_agent_executions') }}
),

tasks as (
    select
        task_id,
        project_id,
        updated_at
    from {{ ref('stg_asp__task_metadata') }}
),

task_totals as (
    select
        task_id,
        project_id
    from {{ ref('int_task_cost_totals') }}
),

phases as (
    select
        agent_role,
        phase_order,
        phase_class
    from {{ ref('agent_roles') }}
),

final as (
    select
        executions.execution_key,
        executions.task_id,
        coalesce(tasks.project_id, task_totals.project_id) as project_id,
        executions.agent_role,
        phases.phase_order,
        phases.phase_class,
        executions.started_at,
        {{ utc_week_start('executions.started_at') }} as week_start,
        executions.latency_ms as effort_ms,
        -- money effort: reported where a source reported it, else priced from the tokens
        executions.cost_usd as effort_usd,
        executions.last_loaded_at,
        tasks.updated_at as task_updated_at
    from executions
    left join tasks on tasks.task_id = executions.task_id
    left join task_totals on task_totals.task_id = executions.task_id
    left join phases on phases.agent_role = executions.agent_role
)

select * from final
