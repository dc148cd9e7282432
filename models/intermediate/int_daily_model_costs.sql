{{
    config(
        materialized='incremental',
        unique_key='execution_date',
        partition_by=['execution_date'] if target.type == 'spark' else none,
        pre_hook=["{{ remove_emptied_days('int_agent_executions', 'execution_date') }}"],
        indexes=[
            {'columns': ['execution_date']},
        ],
    )
}}

{#-
    mart_cost_by_model's additive parts per UTC day (of the execution's start), model and
    provider: counts and sums that the mart sums again over the days (max for price_source),
    so that a build reads the days that changed, not every execution.

    Incremental by whole days, as fct_daily_role_costs: a day is recomputed when its
    executions in int_agent_executions (their number and cost rows) differ from what this
    table holds for it (new executions, late rows of old ones, an execution whose start moved
    to another day), and replaced whole (delete+insert on execution_date; insert_overwrite of
    its partition on Spark). A day left without any execution has no new row to replace it:
    the pre-hook remove_emptied_days deletes it first (drops its partition on Spark).
-#}

with

{% if is_incremental() %}
{{ changed_execution_days() }}
{% endif %}

executions as (
    select
        execution_date,
        llm_model,
        llm_provider,
        tokens_in,
        tokens_out,
        cache_read_tokens,
        cache_write_tokens,
        api_cost_usd,
        priced_cost_usd,
        cost_usd,
        cost_source,
        price_source,
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
        llm_model,
        llm_provider,
        count(*) as executions,
        sum(cost_usd) as total_cost_usd,
        {{ agg_where('sum', 'cost_usd', "cost_source = 'reported'") }} as reported_cost_usd,
        {{ agg_where('sum', 'cost_usd', "cost_source = 'priced'") }} as cost_from_prices_usd,
        {{ count_where("cost_source = 'reported'") }} as reported_executions,
        {{ count_where("cost_source = 'priced'") }} as priced_executions,
        {{ count_where("cost_source = 'unpriced'") }} as unpriced_executions,
        {{ count_where("api_cost_usd is not null and priced_cost_usd is not null") }} as executions_with_both,
        {{ agg_where('sum', 'api_cost_usd', "priced_cost_usd is not null") }} as reported_where_priced_usd,
        {{ agg_where('sum', 'priced_cost_usd', "api_cost_usd is not null") }} as priced_where_reported_usd,
        sum(api_cost_usd - priced_cost_usd) as reported_minus_priced_usd,
        sum(tokens_in) as total_tokens_in,
        sum(tokens_out) as total_tokens_out,
        sum(cache_read_tokens) as total_cache_read_tokens,
        sum(cache_write_tokens) as total_cache_write_tokens,
        max(price_source) as price_source,
        cast(sum(metric_rows) as bigint) as cost_rows,
        max(last_loaded_at) as last_loaded_at
    from executions
    group by execution_date, llm_model, llm_provider
)

select * from final
