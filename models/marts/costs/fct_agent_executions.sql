{{
    config(
        materialized='incremental',
        unique_key='execution_key',
        partition_by=['execution_date'] if target.type == 'spark' else none,
        pre_hook=["{{ remove_emptied_days('int_agent_executions', 'execution_date', partitions_only=true) }}"],
        indexes=[
            {'columns': ['last_loaded_at']},
            {'columns': ['task_id']},
            {'columns': ['started_at']},
        ],
    )
}}

{#-
    One row per agent execution, published from int_agent_executions. Incremental: the
    executions int_agent_executions holds with last_loaded_at after this table's watermark
    (max(last_loaded_at) - var('incremental_lookback')) that differ from this table's row
    (new, or more cost rows) replace their rows by execution_key. The index on
    last_loaded_at gives the watermark without reading the table; the contract's primary key
    (execution_key) serves the comparison with the published row and delete+insert's delete.

    Where an increment replaces whole partitions (insert_overwrite on Spark: the table is
    partitioned by execution_date), the days recomputed are those whose executions differ
    from what this table holds for them (their number, cost rows or newest load), as in
    fct_daily_role_costs, with every execution of those days; a day left without any
    execution is dropped first (macro remove_emptied_days).
-#}

with

{% if replaces_partitions() %}
executions_per_day as (
    select
        execution_date,
        count(*) as executions,
        sum(metric_rows) as cost_rows,
        max(last_loaded_at) as last_loaded_at
    from {{ ref('int_agent_executions') }}
    group by execution_date
),

published_per_day as (
    select
        execution_date,
        count(*) as executions,
        sum(metric_rows) as cost_rows,
        max(last_loaded_at) as last_loaded_at
    from {{ this }}
    group by execution_date
),

touched_dates as (
    select executions_per_day.execution_date
    from executions_per_day
    left join published_per_day on published_per_day.execution_date = executions_per_day.execution_date
    where
        executions_per_day.executions is distinct from published_per_day.executions
        or executions_per_day.cost_rows is distinct from published_per_day.cost_rows
        or executions_per_day.last_loaded_at is distinct from published_per_day.last_loaded_at
),
{% endif %}

executions as (
    select * from {{ ref('int_agent_executions') }}
),

final as (
    select
        execution_key,
        task_id,
        subtask_id,
        agent_role,
        agent_iteration,
        execution_id,
        started_at,
        latency_ms,
        tokens_in,
        tokens_out,
        api_cost_usd,
        tool_calls,
        retries,
        llm_model,
        llm_provider,
        agent_version,
        execution_date,
        project_id,
        peak_memory_mb,
        cache_read_tokens,
        cache_write_tokens,
        priced_cost_usd,
        cost_usd,
        cost_source,
        price_source,
        metric_rows,
        last_loaded_at
    from executions
    {% if replaces_partitions() %}
    where executions.execution_date in (select touched_dates.execution_date from touched_dates)
    {% elif is_incremental() %}
    where
        executions.last_loaded_at > {{ incremental_watermark() }}
        and not exists (
            select 1
            from {{ this }} as published
            where
                published.execution_key = executions.execution_key
                and published.metric_rows = executions.metric_rows
                and published.last_loaded_at = executions.last_loaded_at
        )
    {% endif %}
)

select * from final
