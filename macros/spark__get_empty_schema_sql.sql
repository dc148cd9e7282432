{#
    Spark: the contracts' data types are PostgreSQL's (text, numeric, timestamp with time
    zone, ...), the published types on the default target. dbt checks a contract by casting
    NULL to each declared type on the engine; on Spark each is cast to the type that stands
    for it there (docs/spark.md, "Types"), so one YAML holds both engines' contracts.
#}
{% macro spark_type(data_type) -%}
    {%- set types = {
        'text': 'string',
        'numeric': 'double',
        'timestamp with time zone': 'timestamp',
        'timestamptz': 'timestamp',
        'jsonb': 'string',
        'json': 'string',
        'integer': 'int',
        'double precision': 'double',
    } -%}
    {{ return(types.get(data_type | lower | trim, data_type)) }}
{%- endmacro %}

{% macro spark__get_empty_schema_sql(columns) %}
    {%- set col_err = [] -%}
    select
    {% for i in columns %}
      {%- set col = columns[i] -%}
      {%- if col['data_type'] is not defined -%}
        {%- do col_err.append(col['name']) -%}
      {%- endif -%}
      {% set col_name = adapter.quote(col['name']) if col.get('quote') else col['name'] %}
      cast(null as {{ spark_type(col['data_type']) }}) as {{ col_name }}{{ ", " if not loop.last }}
    {%- endfor -%}
    {%- if (col_err | length) > 0 -%}
      {{ exceptions.column_type_missing(column_names=col_err) }}
    {%- endif -%}
{% endmacro %}
