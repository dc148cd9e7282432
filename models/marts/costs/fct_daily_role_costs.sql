{{
    config(
        materialized='incremental',
        unique_key='execution_date',
        partition_by=['execution_date'] if target.type == 'spark' else none,
        pre_hook=["{{ remove_emptied_days('int_agent_executions', 'execution_date') }}"],
        indexes=[
            {'columns': ['daily_role_cost_key'], 'unique': true},
            {'columns': ['execution_date']},
        ],
    )
}}

{#-
    Cost per UTC day, agent role and model, from the agent executions (an execution counts on
    the day it started).

    Incremental by whole days, exact under append-only raw rows: a day is recomputed when
    its executions in int_agent_executions (their number and cost rows) differ from what
    this table holds for it. That catches new executions, late rows of old ones, and the day
    an execution leaves when a late row with an earlier timestamp moves its start. Only the
    days from the earliest day of an execution loaded after the watermark on are compared
    (on PostgreSQL; macro changed_execution_days says why no changed day is earlier). A whole
    day is replaced, so delete+insert keys on execution_date (groups whose llm_model is NULL
    or changed are replaced too); daily_role_cost_key is the unique key of a row. On Spark
    (insert_overwrite) the recomputed days' partitions are replaced. A day left without any
    execution has no new row to replace it: the pre-hook remove_emptied_days deletes it
    first (drops its partition on Spark).
-#}

with

{% if is_incremental() %}
{{ changed_execution_days() }}
{% endif %}

executions as (
    select
        execution_date,
        agent_role,
        llm_model,
        llm_provider,
        task_id,
        cost_usd,
        cost_source,
        latency_ms,
        latency_samples,
        tokens_in,
        tokens_out,
        metric_rows,
        last_loaded_at
    from {{ ref('int_agent_executions') }}
    {% if is_incremental() %}
    where execution_date in (select touched_dates.execution_date from touched_dates)
    {% endif %}
),

final as (
    select
        execution_date,
        agent_role,
        llm_model,
        max(llm_provider) as llm_provider,
        count(distinct task_id) as tasks_executed,
        count(*) as executions,
        coalesce(sum(cost_usd), 0) as total_cost_usd,
        coalesce({{ agg_where('sum', 'cost_usd', "cost_source = 'priced'") }}, 0) as cost_from_prices_usd,
        {{ count_where("cost_source = 'unpriced'") }} as unpriced_executions,
        coalesce(sum(latency_ms), 0) as total_latency_ms,
        coalesce(sum(tokens_in), 0) as total_tokens_in,
        coalesce(sum(tokens_out), 0) as total_tokens_out,
        cast(sum(metric_rows) as bigint) as cost_rows,
        cast(sum(latency_samples) as bigint) as latency_samples,
        {{ surrogate_key(['execution_date', 'agent_role', 'llm_model']) }} as daily_role_cost_key,
        max(last_loaded_at) as last_loaded_at
    from executions
    group by execution_date, agent_role, llm_model
)

select * from final
