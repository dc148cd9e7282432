{#-
    Cost per model and provider over all time (docs/metrics.md, "Cost"): how much of it was
    reported, priced from tokens or left without a cost, and, over the executions that have
    both a reported and a priced cost, how far apart they are (a wrong price or a wrong
    report is worth seeing).
-#}

with

executions as (
    select
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
        price_source
    from {{ ref('int_agent_executions') }}
),

final as (
    select
        llm_model,
        llm_provider,
        count(*) as executions,
        coalesce(sum(cost_usd), 0) as total_cost_usd,
        coalesce({{ agg_where('sum', 'cost_usd', "cost_source = 'reported'") }}, 0) as reported_cost_usd,
        coalesce({{ agg_where('sum', 'cost_usd', "cost_source = 'priced'") }}, 0) as cost_from_prices_usd,
        {{ count_where("cost_source = 'reported'") }} as reported_executions,
        {{ count_where("cost_source = 'priced'") }} as priced_executions,
        {{ count_where("cost_source = 'unpriced'") }} as unpriced_executions,
        {{ count_where("api_cost_usd is not null and priced_cost_usd is not null") }} as executions_with_both,
        {{ agg_where('sum', 'api_cost_usd', "priced_cost_usd is not null") }} as reported_where_priced_usd,
        {{ agg_where('sum', 'priced_cost_usd', "api_cost_usd is not null") }} as priced_where_reported_usd,
        sum(api_cost_usd - priced_cost_usd) as reported_minus_priced_usd,
        {{ ratio_pct(
            'sum(api_cost_usd - priced_cost_usd)',
            agg_where('sum', 'priced_cost_usd', "api_cost_usd is not null")
        ) }} as reported_vs_priced_pct,
        coalesce(sum(tokens_in), 0) as total_tokens_in,
        coalesce(sum(tokens_out), 0) as total_tokens_out,
        coalesce(sum(cache_read_tokens), 0) as total_cache_read_tokens,
        coalesce(sum(cache_write_tokens), 0) as total_cache_write_tokens,
        max(price_source) as price_source,
        {{ surrogate_key(['llm_model', 'llm_provider']) }} as model_cost_key
    from executions
    group by llm_model, llm_provider
)

select * from final
