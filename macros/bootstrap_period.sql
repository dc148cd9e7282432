{#
    The bootstrap snapshot's period [start, end) as two SQL expressions (metrics.md,
    "Bootstrap learning"), from vars validated and typed in macros/vars.sql:
      bootstrap_period_end    ISO 8601 timestamp with its UTC offset; default: now(), the build
      bootstrap_period_start  ISO 8601 timestamp with its UTC offset; default: the end minus
                              bootstrap_period_days
      bootstrap_period_days   whole days, at least 1 (dbt_project.yml: 14)
    A var that is not what it must be fails the build with a message naming it; what reaches
    the SQL is rendered from the parsed value, never the var's text.
#}
{% macro bootstrap_period() -%}
    {%- set days = positive_integer_var('bootstrap_period_days', largest=3650) -%}
    {%- set start_value = timestamp_var_value('bootstrap_period_start') -%}
    {%- set end_value = timestamp_var_value('bootstrap_period_end') -%}
    {%- if start_value is not none and end_value is not none and start_value >= end_value -%}
        {{ invalid_var('bootstrap_period_start', var('bootstrap_period_start'),
                       "a timestamp before bootstrap_period_end (" ~ end_value.isoformat() ~ ")") }}
    {%- endif -%}
    {%- set end = timestamp_var('bootstrap_period_end') or build_time() -%}
    {%- set start = timestamp_var('bootstrap_period_start') or '(' ~ days_before(end, days) ~ ')' -%}
    {{ return({'start': start, 'end': end}) }}
{%- endmacro %}
