{#-
    The PROBE-AI regression of each target on the proxy over every task of the data set, one
    row per target (latency_ms, tokens, api_cost_usd; n = 0 when there is no data): the
    overall rows of mart_probe_fits, which computes every scope in one place.
-#}

with

fits as (
    select * from {{ ref('mart_probe_fits') }}
),

final as (
    select
        target,
        n,
        x_avg,
        sxx,
        beta0,
        beta1,
        r_squared,
        sigma,
        y_avg,
        sum_x,
        sum_y,
        t_statistic
    from fits
    where scope = 'all'
)

select * from final
