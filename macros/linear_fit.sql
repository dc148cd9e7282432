{#
    The least-squares line of y on x for each group of `observations` (a relation or CTE with
    numeric columns x and y and the `group_columns`), as metrics.md "PROBE-AI" defines it.
    Emits four CTEs, `<name>_centered`, `<name>_sums`, `<name>_coefficients` and `<name>`; the
    last holds one row per group:
      n, x_avg, y_avg, sum_x, sum_y
      sxx = sum((x - x_avg)^2), sxy = sum((x - x_avg)(y - y_avg)), syy = sum((y - y_avg)^2)
      beta1 = sxy / sxx (NULL when sxx = 0), beta0 = y_avg - beta1 x_avg
      r_squared = sxy^2 / (sxx syy); NULL when sxx = 0 (no line); 1 when syy = 0 (every y
          equal: the line y = y_avg fits every point), as PostgreSQL's regr_r2 defines it
      sigma = sqrt(sum((y - beta0 - beta1 x)^2) / (n - 2)) = sqrt((syy - beta1 sxy) / (n - 2)), n > 2
      t_statistic = |r| sqrt((n - 2) / (1 - r^2)), the correlation's significance test with
          n - 2 degrees of freedom; NULL when n <= 2 or r^2 = 1 (t is infinite: p = 0)
      averaging_beta1 = sum_y / sum_x, PROBE method C's slope; NULL unless sum_x > 0
    Exact numeric arithmetic (two passes, no float aggregates). Fractional results are rounded
    to 12 decimal places, trailing zeros trimmed: numeric division and sqrt keep at least 16
    significant digits, so the rounded values are exact and do not depend on the digits
    PostgreSQL happens to keep. With no group columns the result is one row, n = 0 when
    `observations` is empty.
#}
{% macro linear_fit(observations, group_columns, name) -%}
{%- set decimals = 12 -%}
{#- trim_scale on PostgreSQL; a double (Spark) has no scale to trim (macros/cross_engine.sql) -#}
{%- set trim_scale = scale_trim_function() -%}
{%- set groups = group_columns | join(', ') -%}
{%- set select_groups = groups ~ ',' if groups else '' -%}
{{ name }}_centered as (
    select
        {{ select_groups }}
        x,
        y,
        x - avg(x) over ({{ 'partition by ' ~ groups if groups }}) as dx,
        y - avg(y) over ({{ 'partition by ' ~ groups if groups }}) as dy
    from {{ observations }}
),

{{ name }}_sums as (
    select
        {{ select_groups }}
        count(*) as n,
        avg(x) as x_avg,
        avg(y) as y_avg,
        sum(x) as sum_x,
        sum(y) as sum_y,
        sum(dx * dx) as sxx,
        sum(dx * dy) as sxy,
        sum(dy * dy) as syy
    from {{ name }}_centered
    {% if groups %}group by {{ groups }}{% endif %}
),

{{ name }}_coefficients as (
    select
        *,
        sxy / nullif(sxx, 0) as beta1,
        case
            when sxx = 0 then null
            when syy = 0 then 1
            else sxy * sxy / (sxx * syy)
        end as r_squared
    from {{ name }}_sums
),

{{ name }} as (
    select
        {{ select_groups }}
        n,
        {{ trim_scale }}(round(x_avg, {{ decimals }})) as x_avg,
        {{ trim_scale }}(round(sxx, {{ decimals }})) as sxx,
        {{ trim_scale }}(round(y_avg - beta1 * x_avg, {{ decimals }})) as beta0,
        {{ trim_scale }}(round(beta1, {{ decimals }})) as beta1,
        {{ trim_scale }}(round(r_squared, {{ decimals }})) as r_squared,
        {{ trim_scale }}(round(
            case when n > 2 and beta1 is not null then sqrt(greatest(syy - beta1 * sxy, 0) / (n - 2)) end,
            {{ decimals }}
        )) as sigma,
        {{ trim_scale }}(round(y_avg, {{ decimals }})) as y_avg,
        {{ trim_scale }}(sum_x) as sum_x,
        {{ trim_scale }}(sum_y) as sum_y,
        {{ trim_scale }}(round(
            case when n > 2 and r_squared < 1 then sqrt(r_squared * (n - 2) / (1 - r_squared)) end,
            {{ decimals }}
        )) as t_statistic,
        {{ trim_scale }}(round(case when sum_x > 0 then sum_y / sum_x end, {{ decimals }})) as averaging_beta1
    from {{ name }}_coefficients
)
{%- endmacro %}
