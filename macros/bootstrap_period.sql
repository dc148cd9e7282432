{#
    The bootstrap snapshot's period [start, end) as two SQL expressions (metrics.md,
    "Bootstrap learning"), from validated vars:
      bootstrap_period_end    ISO 8601 timestamp (UTC without an offset); default: now(), the build
      bootstrap_period_start  ISO 8601 timestamp; default: the end minus bootstrap_period_days
      bootstrap_period_days   whole days, at least 1 (dbt_project.yml: 14)
    A var that is not what it must be fails the build with a message naming it; what reaches
    the SQL is rendered from the parsed value, never the var's text.
#}
{% macro bootstrap_period() -%}
    {%- set days = var('bootstrap_period_days') -%}
    {%- if days is boolean or days is not number or days < 1 or days != days | int -%}
        {{ exceptions.raise_compiler_error(
            "var bootstrap_period_days must be a whole number of days, at least 1; got " ~ (days | tojson)) }}
    {%- endif -%}
    {%- set end = timestamp_var('bootstrap_period_end') or 'now()' -%}
    {%- set start = timestamp_var('bootstrap_period_start') or '(' ~ end ~ ' - make_interval(days => ' ~ (days | int) ~ '))' -%}
    {{ return({'start': start, 'end': end}) }}
{%- endmacro %}

{# The var `name` as a timestamptz literal, or none when it is not set. #}
{% macro timestamp_var(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or value == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {#- YAML may have parsed the value into a datetime already: its text is ISO 8601 too -#}
    {%- set text = value | string -%}
    {%- set pattern = '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,6})?)?)?(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])?' -%}
    {%- if modules.re.fullmatch(pattern, text) is none -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be an ISO 8601 timestamp such as 2025-11-30T00:00:00+00:00; got "
            ~ (text | tojson)) }}
    {%- endif -%}
    {%- set parsed = modules.datetime.datetime.fromisoformat(text) -%}
    {%- if parsed.tzinfo is none -%}
        {%- set parsed = parsed.replace(tzinfo=modules.pytz.utc) -%}
    {%- endif -%}
    {{ return("'" ~ parsed.isoformat() ~ "'::timestamptz") }}
{%- endmacro %}
