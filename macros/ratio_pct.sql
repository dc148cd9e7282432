{#
    100 * numerator / denominator as numeric; NULL (never 0, never an error) when the
    denominator is 0 or NULL (metrics.md: "Any ratio with a zero denominator is NULL").
#}
{% macro ratio_pct(numerator, denominator) -%}
    (100.0 * ({{ numerator }}) / nullif({{ denominator }}, 0))
{%- endmacro %}

{% macro ratio(numerator, denominator) -%}
    (({{ numerator }})::numeric / nullif({{ denominator }}, 0))
{%- endmacro %}
