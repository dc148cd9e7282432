with

source as (
    select
        llm_provider,
        llm_model,
        reason
    from {{ source('pricing', 'unpriced_models') }}
),

final as (
    select
        llm_provider,
        llm_model,
        reason
    from source
)

select * from final
