{#-
    PROBE-AI linear regression of each target on the proxy (metrics.md, "PROBE-AI"), one row
    per target, computed in exact numeric arithmetic:
      sxx = sum((x - x_avg)^2), sxy = sum((x - x_avg)(y - y_avg)), syy = sum((y - y_avg)^2)
      beta1 = sxy / sxx, beta0 = y_avg - beta1 x_avg
      r_squared = sxy^2 / (sxx syy): NULL when sxx = 0, 1 when syy = 0 (as regr_r2)
      sigma = sqrt(sum((y - beta0 - beta1 x)^2) / (n - 2)) = sqrt((syy - beta1 sxy) / (n - 2)), n > 2
      t_statistic = |r| sqrt((n - 2) / (1 - r^2)), for the significance test
    sum_x and sum_y give PROBE method C (beta1 = sum_y / sum_x). All three targets are
    listed, with n = 0 when there is no data (method D). Fractional results are rounded to
    12 decimal places (trailing zeros trimmed): numeric division and sqrt keep at least 16 significant digits, so
    the rounded values are exact and do not depend on the digits PostgreSQL happens to keep.
-#}

{%- set decimals = 12 %}

with

targets as (
    select target
    from (values ('latency_ms'), ('tokens'), ('api_cost_usd')) as targets (target)
),

dataset as (
    select
        proxy,
        actual_latency_ms,
        actual_tokens,
        actual_api_cost_usd
    from {{ ref('mart_probe_dataset') }}
),

observations as (
    select
        target_values.target,
        dataset.proxy::numeric as x,
        target_values.y
    from dataset
    cross join lateral (
        values
            ('latency_ms', dataset.actual_latency_ms),
            ('tokens', dataset.actual_tokens),
            ('api_cost_usd', dataset.actual_api_cost_usd)
    ) as target_values (target, y)
),

means as (
    select
        target,
        count(*) as n,
        avg(x) as x_avg,
        avg(y) as y_avg,
        sum(x) as sum_x,
        sum(y) as sum_y
    from observations
    group by target
),

deviations as (
    select
        observations.target,
        sum((observations.x - means.x_avg) * (observations.x - means.x_avg)) as sxx,
        sum((observations.x - means.x_avg) * (observations.y - means.y_avg)) as sxy,
        sum((observations.y - means.y_avg) * (observations.y - means.y_avg)) as syy
    from observations
    inner join means on means.target = observations.target
    group by observations.target
),

fit as (
    select
        targets.target,
        coalesce(means.n, 0) as n,
        means.x_avg,
        means.y_avg,
        means.sum_x,
        means.sum_y,
        deviations.sxx,
        deviations.sxy,
        deviations.syy,
        deviations.sxy / nullif(deviations.sxx, 0) as beta1
    from targets
    left join means on means.target = targets.target
    left join deviations on deviations.target = targets.target
),

goodness as (
    select
        target,
        n,
        x_avg,
        y_avg,
        sum_x,
        sum_y,
        sxx,
        beta1,
        y_avg - beta1 * x_avg as beta0,
        case
            when sxx = 0 then null
            when syy = 0 then 1
            else sxy * sxy / (sxx * syy)
        end as r_squared,
        case
            when n > 2 and beta1 is not null then sqrt(greatest(syy - beta1 * sxy, 0) / (n - 2))
        end as sigma
    from fit
),

final as (
    select
        target,
        n,
        trim_scale(round(x_avg, {{ decimals }})) as x_avg,
        trim_scale(round(sxx, {{ decimals }})) as sxx,
        trim_scale(round(beta0, {{ decimals }})) as beta0,
        trim_scale(round(beta1, {{ decimals }})) as beta1,
        trim_scale(round(r_squared, {{ decimals }})) as r_squared,
        trim_scale(round(sigma, {{ decimals }})) as sigma,
        trim_scale(round(y_avg, {{ decimals }})) as y_avg,
        trim_scale(sum_x) as sum_x,
        trim_scale(sum_y) as sum_y,
        trim_scale(round(
            case
                when n > 2 and r_squared < 1 then sqrt(r_squared * (n - 2) / (1 - r_squared))
            end,
            {{ decimals }}
        )) as t_statistic
    from goodness
)

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
from final
