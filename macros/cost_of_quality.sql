{#
    Cost of quality (metrics.md, "Cost of quality and phase quality"), shared by
    mart_cost_of_quality and mart_cost_of_quality_weekly so that each formula lives once.

    task_effort_by_class(effort): a task's executions and its total, appraisal and failure
    effort in time (latency_ms) and in money (cost_usd), for a query that groups the rows of
    int_execution_effort (`effort`) by task and week: int_task_week_effort, which both marts
    read (mart_cost_of_quality sums a task's weeks).

    cost_of_quality_sums(task_effort): those summed over the tasks of a scope, with the
    number of tasks; 0, not NULL, when a scope has none of it. Two steps, so that tasks are
    counted without a count(distinct) over every execution.

    cost_of_quality_ratios(sums): from those columns of relation `sums`, the COQ percentages
    and the appraisal/failure ratio in time and in money. A percentage is NULL when the
    scope's total effort is 0; a ratio is NULL when its failure effort is 0.
#}
{% macro task_effort_by_class(effort) -%}
    count(*) as executions,
    sum({{ effort }}.effort_ms) as total_latency_ms,
    {{ agg_where('sum', effort ~ '.effort_ms', effort ~ ".phase_class = 'appraisal'") }} as appraisal_latency_ms,
    {{ agg_where('sum', effort ~ '.effort_ms', effort ~ ".phase_class = 'failure'") }} as failure_latency_ms,
    sum({{ effort }}.effort_usd) as total_cost_usd,
    {{ agg_where('sum', effort ~ '.effort_usd', effort ~ ".phase_class = 'appraisal'") }} as appraisal_cost_usd,
    {{ agg_where('sum', effort ~ '.effort_usd', effort ~ ".phase_class = 'failure'") }} as failure_cost_usd
{%- endmacro %}

{% macro cost_of_quality_sums(task_effort) -%}
    count(*) as tasks,
    cast(coalesce(sum({{ task_effort }}.executions), 0) as bigint) as executions,
    {%- for column in [
        'total_latency_ms', 'appraisal_latency_ms', 'failure_latency_ms',
        'total_cost_usd', 'appraisal_cost_usd', 'failure_cost_usd',
    ] %}
    {{ trimmed('coalesce(sum(' ~ task_effort ~ '.' ~ column ~ '), 0)') }} as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
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
