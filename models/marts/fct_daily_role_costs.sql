{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='execution_date',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['daily_role_cost_key'], 'unique': true},
            {'columns': ['execution_date']},
        ],
    )
}}

{#-
    Cost per UTC day, agent role and model, from the agent executions (an execution counts on
    the day it started). Incremental by whole days: a run recomputes every day on which any
    cost row of a task with rows loaded since the watermark falls. That covers the days the
    task's executions had before this run as well as now (an execution moves when a late row
    with an earlier timestamp arrives), and a whole day is replaced, so delete+insert keys on
    execution_date: groups whose llm_model is NULL or changed are replaced too.
-#}

-- depends_on: {{ ref('stg_asp__agent_cost_vector') }}

with

{% if is_incremental() %}
touched_tasks as (
    select distinct task_id
    from {{ ref('stg_asp__agent_cost_vector') }}
    where loaded_at > {{ incremental_watermark() }}
),

touched_dates as (
    select distinct execution_date
    from {{ ref('stg_asp__agent_cost_vector') }}
    where task_id in (select task_id from touched_tasks)
),
{% endif %}

executions as (
    select
        execution_date,
        agent_role,
        llm_model,
        llm_provider,
        task_id,
        api_cost_usd,
        latency_ms,
        tokens_in,
        tokens_out,
        last_loaded_at
    from {{ ref('int_agent_executions') }}
    {% if is_incremental() %}
    where execution_date in (select execution_date from touched_dates)
    {% endif %}
),

final as (
    select
        {{ surrogate_key(['execution_date', 'agent_role', 'llm_model']) }} as daily_role_cost_key,
        execution_date,
        agent_role,
        llm_model,
        max(llm_provider) as llm_provider,
        count(distinct task_id) as tasks_executed,
        count(*) as executions,
        coalesce(sum(api_cost_usd), 0) as total_cost_usd,
        coalesce(sum(latency_ms), 0) as total_latency_ms,
        coalesce(sum(tokens_in), 0) as total_tokens_in,
        coalesce(sum(tokens_out), 0) as total_tokens_out,
        max(last_loaded_at) as last_loaded_at
    from executions
    group by execution_date, agent_role, llm_model
)

select
    execution_date,
    agent_role,
    llm_model,
    llm_provider,
    tasks_executed,
    executions,
    total_cost_usd,
    total_latency_ms,
    total_tokens_in,
    total_tokens_out,
    daily_role_cost_key,
    last_loaded_at
from final
