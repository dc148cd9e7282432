with

source as (
    select
        llm_provider,
        llm_model,
        priority,
        effective_from,
        daily_from,
        daily_to,
        input_tokens_above,
        input_per_mtok,
        output_per_mtok,
        cache_read_per_mtok,
        cache_write_per_mtok,
        requests_per_k,
        price_provider,
        price_model,
        source
    from {{ source('pricing', 'model_prices') }}
),

final as (
    select
        llm_provider,
        llm_model,
        priority,
        effective_from,
        daily_from,
        daily_to,
        input_tokens_above,
        input_per_mtok,
        output_per_mtok,
        cache_read_per_mtok,
        cache_write_per_mtok,
        requests_per_k,
        price_provider,
        price_model,
        source as price_source
    from source
)

select * from final
