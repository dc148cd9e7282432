{#
    dbt's default warns about every contract column typed plain `numeric` ("unspecified
    precision/scale, this can lead to unintended rounding"). On PostgreSQL a plain numeric
    is exact with any precision, which is why the marts use it for money, tokens and
    ratios. Same as dbt's default__get_empty_schema_sql without that warning.
#}
{% macro postgres__get_empty_schema_sql(columns) %}
    {%- set col_err = [] -%}
    select
    {% for i in columns %}
      {%- set col = columns[i] -%}
      {%- if col['data_type'] is not defined -%}
        {%- do col_err.append(col['name']) -%}
      {%- endif -%}
      {% set col_name = adapter.quote(col['name']) if col.get('quote') else col['name'] %}
      {{ cast('null', col['data_type']) }} as {{ col_name }}{{ ", " if not loop.last }}
    {%- endfor -%}
    {%- if (col_err | length) > 0 -%}
      {{ exceptions.column_type_missing(column_names=col_err) }}
    {%- endif -%}
{% endmacro %}
