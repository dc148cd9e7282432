{#-
    Cost per model and provider over all time (docs/metrics.md, "Cost"): how much of it was
    reported, priced from tokens or left without a cost, and, over the executions that have
    both a reported and a priced cost, how far apart they are (a wrong price or a wrong
    report is worth seeing).

    Sums the per-day sums of int_daily_model_costs (incremental by day), so that a build
    reads one row per day and model, not every execution. Every column is a sum or a count
    (exact when summed again), a max (price_source) or a ratio of two sums.
-#}

with

daily_costs as (
    select
        llm_model,
        llm_provider,
        executions,
        total_cost_usd,
        reported_cost_usd,
        cost_from_prices_usd,
        reported_executions,
        priced_executions,
        unpriced_executions,
        executions_with_both,
        reported_where_priced_usd,
        priced_where_reported_usd,
        reported_minus_priced_usd,
        total_tokens_in,
        total_tokens_out,
        total_cache_read_tokens,
        total_cache_write_tokens,
        price_source
    from {{ ref('int_daily_model_costs') }}
),

final as (
    select
        llm_model,
        llm_provider,
        cast(sum(executions) as bigint) as executions,
        coalesce(sum(total_cost_usd), 0) as total_cost_usd,
        coalesce(sum(reported_cost_usd), 0) as reported_cost_usd,
        coalesce(sum(cost_from_prices_usd), 0) as cost_from_prices_usd,
        cast(sum(reported_executions) as bigint) as reported_executions,
        cast(sum(priced_executions) as bigint) as priced_executions,
        cast(sum(unpriced_executions) as bigint) as unpriced_executions,
        cast(sum(executions_with_both) as bigint) as executions_with_both,
        sum(reported_where_priced_usd) as reported_where_priced_usd,
        sum(priced_where_reported_usd) as priced_where_reported_usd,
        sum(reported_minus_priced_usd) as reported_minus_priced_usd,
        {{ ratio_pct('sum(reported_minus_priced_usd)', 'sum(priced_where_reported_usd)') }} as reported_vs_priced_pct,
        coalesce(sum(total_tokens_in), 0) as total_tokens_in,
        coalesce(sum(total_tokens_out), 0) as total_tokens_out,
        coalesce(sum(total_cache_read_tokens), 0) as total_cache_read_tokens,
        coalesce(sum(total_cache_write_tokens), 0) as total_cache_write_tokens,
        max(price_source) as price_source,
        {{ surrogate_key(['llm_model', 'llm_provider']) }} as model_cost_key
    from daily_costs
    group by llm_model, llm_provider
)

select * from final
