{#
    Ratios as exact numerics with trailing zeros trimmed (50, not 50.0000000000000000);
    NULL, never 0 and never an error, when the denominator is 0 or NULL (metrics.md: "Any
    ratio with a zero denominator is NULL").
#}
{% macro ratio_pct(numerator, denominator) -%}
    {{ trimmed('100.0 * (' ~ numerator ~ ') / nullif(' ~ denominator ~ ', 0)') }}
{%- endmacro %}

{% macro ratio(numerator, denominator) -%}
    {{ trimmed(as_number(numerator) ~ ' / nullif(' ~ denominator ~ ', 0)') }}
{%- endmacro %}
