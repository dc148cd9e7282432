{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key='task_id',
        indexes=[
            {'columns': ['task_id', 'week_start'], 'unique': true},
            {'columns': ['source_changed_at']},
        ],
    )
}}

{#-
    Each task's effort per UTC week it worked in, by phase class (macro task_effort_by_class,
    macros/cost_of_quality.sql), with its project: mart_cost_of_quality sums a task's weeks
    (sums add up) and mart_cost_of_quality_weekly reads the rows as they are, so neither
    aggregates every execution of int_execution_effort.

    Incremental (PostgreSQL): a task is recomputed, all its weeks from all its executions,
    when one of its executions in int_agent_executions has a last_loaded_at, or its
    task_metadata row an updated_at (its project), after this table's watermark
    (max(source_changed_at) - var('incremental_lookback'), as fct_task_costs). delete+insert
    on task_id replaces all of the task's rows, so a week the task no longer has (a late row
    moved its only execution there) disappears. Exact under append-only cost rows: the
    project from the cost rows (int_task_cost_totals) changes only with new cost rows.
    On Spark it is rebuilt whole, as int_agent_executions is there.

    The phase classes come from the agent_roles seed: rows not recomputed keep the classes
    they were built with. A planned build after the seed changed (a role's phase_class, a
    role added that already has executions) refreshes this model in full (build_plan.py);
    after a plain `asp-telemetry build`, run `asp-telemetry build --full-refresh`.
-#}

-- depends_on: {{ ref('int_agent_executions') }}
-- depends_on: {{ ref('stg_asp__task_metadata') }}

with

{% if is_incremental() %}
{%- set watermark = incremental_watermark('source_changed_at') %}
changed_tasks as (
    select task_id
    from {{ ref('int_agent_executions') }}
    where last_loaded_at > {{ watermark }}
    union
    select task_id
    from {{ ref('stg_asp__task_metadata') }}
    where updated_at > {{ watermark }}
),
{% endif %}

effort as (
    select
        task_id,
        project_id,
        week_start,
        phase_class,
        effort_ms,
        effort_usd,
        last_loaded_at,
        task_updated_at
    from {{ ref('int_execution_effort') }}
    {% if is_incremental() %}
    -- = any(array(...)) reaches int_agent_executions' task_id index through the view; an
    -- in (select ...) semi-join was planned as a hash join of every execution
    where task_id = any(array(select changed_tasks.task_id from changed_tasks))
    {% endif %}
),

task_week_sums as (
    select
        effort.task_id,
        effort.week_start,
        effort.project_id,
        {{ task_effort_by_class('effort') }},
        max(effort.last_loaded_at) as last_loaded_at,
        max(effort.task_updated_at) as task_updated_at
    from effort
    group by effort.task_id, effort.week_start, effort.project_id
),

final as (
    select
        task_week_sums.task_id,
        task_week_sums.week_start,
        task_week_sums.project_id,
        task_week_sums.executions,
        task_week_sums.total_latency_ms,
        task_week_sums.appraisal_latency_ms,
        task_week_sums.failure_latency_ms,
        task_week_sums.total_cost_usd,
        task_week_sums.appraisal_cost_usd,
        task_week_sums.failure_cost_usd,
        greatest(task_week_sums.last_loaded_at, task_week_sums.task_updated_at) as source_changed_at
    from task_week_sums
)

select * from final
