{#
    Cost of quality (metrics.md, "Cost of quality and phase quality"), shared by
    mart_cost_of_quality and mart_cost_of_quality_weekly so that each formula lives once.

    cost_of_quality_sums(effort): the aggregates over the executions of a scope, for a query
    that groups rows of int_execution_effort (`effort`): tasks, executions, and the total,
    appraisal and failure effort in time (latency_ms) and in money (cost_usd); 0, not NULL,
    when a scope has none of it.

    cost_of_quality_ratios(sums): from those columns of relation `sums`, the COQ percentages
    and the appraisal/failure ratio in time and in money. A percentage is NULL when the
    scope's total effort is 0; a ratio is NULL when its failure effort is 0.
#}
{% macro cost_of_quality_sums(effort) -%}
    count(distinct {{ effort }}.task_id) as tasks,
    count({{ effort }}.execution_key) as executions,
    trim_scale(coalesce(sum({{ effort }}.effort_ms), 0)) as total_latency_ms,
    trim_scale(coalesce(sum({{ effort }}.effort_ms) filter (where {{ effort }}.phase_class = 'appraisal'), 0))
        as appraisal_latency_ms,
    trim_scale(coalesce(sum({{ effort }}.effort_ms) filter (where {{ effort }}.phase_class = 'failure'), 0))
        as failure_latency_ms,
    trim_scale(coalesce(sum({{ effort }}.effort_usd), 0)) as total_cost_usd,
    trim_scale(coalesce(sum({{ effort }}.effort_usd) filter (where {{ effort }}.phase_class = 'appraisal'), 0))
        as appraisal_cost_usd,
    trim_scale(coalesce(sum({{ effort }}.effort_usd) filter (where {{ effort }}.phase_class = 'failure'), 0))
        as failure_cost_usd
{%- endmacro %}

{% macro cost_of_quality_ratios(sums) -%}
    {%- set time_total, time_appraisal, time_failure = (
        sums ~ '.total_latency_ms', sums ~ '.appraisal_latency_ms', sums ~ '.failure_latency_ms'
    ) -%}
    {%- set money_total, money_appraisal, money_failure = (
        sums ~ '.total_cost_usd', sums ~ '.appraisal_cost_usd', sums ~ '.failure_cost_usd'
    ) -%}
    {{ ratio_pct(time_appraisal, time_total) }} as appraisal_coq_pct,
    {{ ratio_pct(time_failure, time_total) }} as failure_coq_pct,
    {{ ratio_pct(time_appraisal ~ ' + ' ~ time_failure, time_total) }} as coq_pct,
    {{ ratio(time_appraisal, time_failure) }} as af_ratio,
    {{ ratio_pct(money_appraisal, money_total) }} as appraisal_cost_pct,
    {{ ratio_pct(money_failure, money_total) }} as failure_cost_pct,
    {{ ratio_pct(money_appraisal ~ ' + ' ~ money_failure, money_total) }} as coq_cost_pct,
    {{ ratio(money_appraisal, money_failure) }} as af_cost_ratio
{%- endmacro %}
