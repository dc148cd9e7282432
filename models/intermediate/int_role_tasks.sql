{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key=['agent_role', 'task_id'],
        indexes=[
            {'columns': ['agent_role', 'task_id'], 'unique': true},
            {'columns': ['last_loaded_at']},
        ],
    )
}}

{#-
    Each task an agent role worked on, with its latest execution start: mart_cost_by_agent_role
    counts distinct tasks (all time, and in its window: a task is in the window when its
    latest start is) from this table. A distinct count cannot be summed over days, so this
    table keeps the (role, task) pairs themselves.

    Incremental (PostgreSQL): the tasks with executions in int_agent_executions whose
    last_loaded_at is after this table's watermark (max(last_loaded_at) -
    var('incremental_lookback'), as fct_task_costs) have every pair recomputed from all their
    executions, replacing their rows by (agent_role, task_id). Exact under append-only raw
    rows: an execution never changes its role or task, so a pair never disappears. On Spark it
    is rebuilt whole, as int_agent_executions is there.
-#}

with

{% if is_incremental() %}
changed_tasks as (
    select distinct task_id
    from {{ ref('int_agent_executions') }}
    where last_loaded_at > {{ incremental_watermark() }}
),
{% endif %}

executions as (
    select
        agent_role,
        task_id,
        started_at,
        last_loaded_at
    from {{ ref('int_agent_executions') }}
    {% if is_incremental() %}
    where task_id in (select changed_tasks.task_id from changed_tasks)
    {% endif %}
),

final as (
    select
        agent_role,
        task_id,
        max(started_at) as last_started_at,
        max(last_loaded_at) as last_loaded_at
    from executions
    group by agent_role, task_id
)

select * from final
