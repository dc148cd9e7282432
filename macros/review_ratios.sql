{#
    A review phase's ratios from its counts (metrics.md, "Review effectiveness"), as columns
    precision_pct, false_positive_rate_pct, recall_pct and escape_rate_pct of the relation
    `counts` (true_positives, false_positives, missed_in_phase, escapes). NULL, never 0, when a
    denominator is 0. mart_review_effectiveness and mart_bootstrap_snapshot both use it.
#}
{% macro review_ratios(counts) -%}
    {%- set tp = counts ~ '.true_positives' -%}
    {%- set fp = counts ~ '.false_positives' -%}
    {%- set fn = '(' ~ counts ~ '.missed_in_phase + ' ~ counts ~ '.escapes)' -%}
    {{ ratio_pct(tp, tp ~ ' + ' ~ fp) }} as precision_pct,
    {{ ratio_pct(fp, tp ~ ' + ' ~ fp) }} as false_positive_rate_pct,
    {{ ratio_pct(tp, tp ~ ' + ' ~ fn) }} as recall_pct,
    {{ ratio_pct(fn, tp ~ ' + ' ~ fn) }} as escape_rate_pct
{%- endmacro %}
