{#
    The executions of relation `executions` (int_agent_executions' CTE) with the price in
    force at each one's start (docs/metrics.md, "Cost"), from relation `prices`
    (stg_pricing__model_prices): of the prices active then the last one, else the first; of
    its tiers the highest the input tokens exceed. Columns: the execution's, then
    input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok,
    requests_per_k and price_source (NULL without a price).

    PostgreSQL looks each execution's price up with a lateral subquery (an index-sized list
    per model); Spark, which has no correlated LIMIT, ranks the candidate prices of each
    execution and keeps the first (the executions are told apart by their five key columns,
    NULLs equal).
#}
{% macro price_in_force(executions, prices) -%}
    {{ return(adapter.dispatch('price_in_force', 'asp_telemetry')(executions, prices)) }}
{%- endmacro %}

{% macro price_conditions(executions, prices) -%}
    {{ prices }}.llm_provider = coalesce({{ executions }}.llm_provider, '')
    and {{ prices }}.llm_model = {{ executions }}.llm_model
    and ({{ prices }}.input_tokens_above = 0 or {{ executions }}.tokens_in > {{ prices }}.input_tokens_above)
    and ({{ prices }}.priority = 0 or {{ price_active(prices, executions ~ '.started_at') }})
{%- endmacro %}

{% macro price_order(executions, prices, nulls='') -%}
    {{ price_active(prices, executions ~ '.started_at') }} desc{{ nulls }},
    {{ prices }}.priority desc,
    {{ prices }}.input_tokens_above desc
{%- endmacro %}

{% macro postgres__price_in_force(executions, prices) -%}
    select
        {{ executions }}.*,
        price.input_per_mtok,
        price.output_per_mtok,
        price.cache_read_per_mtok,
        price.cache_write_per_mtok,
        price.requests_per_k,
        price.price_source
    from {{ executions }}
    left join lateral (
        select
            {{ prices }}.input_per_mtok,
            {{ prices }}.output_per_mtok,
            {{ prices }}.cache_read_per_mtok,
            {{ prices }}.cache_write_per_mtok,
            {{ prices }}.requests_per_k,
            {{ prices }}.price_source
        from {{ prices }}
        where
            {{ price_conditions(executions, prices) }}
        order by
            {{ price_order(executions, prices) }}
        limit 1
    ) as price on true
{%- endmacro %}

{% macro default__price_in_force(executions, prices) -%}
    select *
    from (
        select
            {{ executions }}.*,
            {{ as_number(prices ~ '.input_per_mtok') }} as input_per_mtok,
            {{ as_number(prices ~ '.output_per_mtok') }} as output_per_mtok,
            {{ as_number(prices ~ '.cache_read_per_mtok') }} as cache_read_per_mtok,
            {{ as_number(prices ~ '.cache_write_per_mtok') }} as cache_write_per_mtok,
            {{ as_number(prices ~ '.requests_per_k') }} as requests_per_k,
            {{ prices }}.price_source,
            row_number() over (
                partition by
                    {{ executions }}.task_id, {{ executions }}.subtask_id, {{ executions }}.agent_role,
                    {{ executions }}.agent_iteration, {{ executions }}.execution_id
                -- PostgreSQL sorts NULLs first in descending order
                order by
                    {{ price_order(executions, prices, ' nulls first') }}
            ) as price_rank
        from {{ executions }}
        left join {{ prices }}
            on
                {{ price_conditions(executions, prices) }}
    ) as ranked
    where price_rank = 1
{%- endmacro %}
