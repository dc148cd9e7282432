{#
    Custom schemas are used as they are: staging, intermediate and marts are the schema
    names that migration 0002 creates and grants, so dbt must not prefix them with the
    target schema (dbt's default would give marts_staging).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
