{# SQL text "1 row" / "3 rows" for a count expression, for test failure messages. #}
{% macro rows_phrase(count_expression) -%}
    ({{ as_text('(' ~ count_expression ~ ')') }} || case when ({{ count_expression }}) = 1 then ' row' else ' rows' end)
{%- endmacro %}
