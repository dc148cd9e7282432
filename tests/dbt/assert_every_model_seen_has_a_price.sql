{{ config(severity='warn') }}

{#-
    Warns naming every model seen in executions that resolves to no price (neither
    genai-prices nor seeds/model_prices_custom.csv knows it), with its volume: the executions
    of it that reported no cost have no cost_usd (cost_source 'unpriced'), never a silent 0.
-#}

with

unpriced_models as (
    select
        llm_provider,
        llm_model,
        reason
    from {{ ref('stg_pricing__unpriced_models') }}
),

executions as (
    select
        coalesce(llm_provider, '') as llm_provider,
        llm_model,
        cost_source,
        tokens_in,
        tokens_out
    from {{ ref('int_agent_executions') }}
    where llm_model is not null
),

volumes as (
    select
        unpriced_models.llm_provider,
        unpriced_models.llm_model,
        unpriced_models.reason,
        count(executions.llm_model) as executions,
        {{ count_where("executions.cost_source = 'unpriced'") }} as executions_without_cost,
        coalesce(sum(executions.tokens_in), 0) + coalesce(sum(executions.tokens_out), 0) as tokens
    from unpriced_models
    inner join executions
        on
            executions.llm_provider = unpriced_models.llm_provider
            and executions.llm_model = unpriced_models.llm_model
    group by unpriced_models.llm_provider, unpriced_models.llm_model, unpriced_models.reason
),

final as (
    select
        llm_provider,
        llm_model,
        executions,
        executions_without_cost,
        tokens,
        'no price for model ' || {{ quoted_literal('llm_model') }}
        || case when llm_provider = '' then '' else ' of provider ' || {{ quoted_literal('llm_provider') }} end
        || ' (' || executions || ' executions, ' || executions_without_cost || ' without a reported cost, '
        || {{ trimmed('tokens') }} || ' tokens): add it to seeds/model_prices_custom.csv' as message
    from volumes
)

select * from final
