{#
    The contract check. dbt checks a contract by casting NULL to each declared type on the
    engine. Two changes to dbt's default__get_empty_schema_sql, once for both engines:
    - PostgreSQL: no warning about contract columns typed plain `numeric` ("unspecified
      precision/scale"): there a plain numeric is exact with any precision, which is why the
      marts use it for money, tokens and ratios.
    - Spark: the contracts' data types are PostgreSQL's (text, numeric, timestamp with time
      zone, ...), the published types on the default target; each is cast to the type that
      stands for it there (docs/spark.md, "Types"), so one YAML holds both engines' contracts.
#}
{% macro postgres__get_empty_schema_sql(columns) %}
    {{- contract_empty_schema_sql(columns) -}}
{% endmacro %}

{% macro spark__get_empty_schema_sql(columns) %}
    {{- contract_empty_schema_sql(columns) -}}
{% endmacro %}

{% macro contract_empty_schema_sql(columns) %}
    {%- set col_err = [] -%}
    select
    {% for i in columns %}
      {%- set col = columns[i] -%}
      {%- if col['data_type'] is not defined -%}
        {%- do col_err.append(col['name']) -%}
      {%- endif -%}
      {% set col_name = adapter.quote(col['name']) if col.get('quote') else col['name'] %}
      cast(null as {{ contract_type(col['data_type']) }}) as {{ col_name }}{{ ", " if not loop.last }}
    {%- endfor -%}
    {%- if (col_err | length) > 0 -%}
      {{ exceptions.column_type_missing(column_names=col_err) }}
    {%- endif -%}
{% endmacro %}

{% macro contract_type(data_type) -%}
    {{ return(adapter.dispatch('contract_type')(data_type)) }}
{%- endmacro %}

{% macro default__contract_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro spark__contract_type(data_type) -%}
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
