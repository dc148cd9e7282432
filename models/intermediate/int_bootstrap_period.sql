{#-
    The period [period_start, period_end) of the bootstrap snapshot (metrics.md, "Bootstrap
    learning"): vars bootstrap_period_start and bootstrap_period_end (ISO 8601), by default
    the var('bootstrap_period_days') days (14) ending when this model is built (macro
    bootstrap_period). One row; mart_bootstrap_snapshot measures this period and
    `asp-telemetry snapshot` records it.
-#}

{%- set period = bootstrap_period() %}

with

final as (
    select
        {{ period.start }} as period_start,
        {{ period.end }} as period_end
)

select * from final
