{#
    A surrogate key: the md5 of the JSON array of the given columns. JSON keeps NULL apart
    from '' and escapes separators, so two rows get the same key exactly when the columns
    are equal with NULLs equal (as metrics.md keys agent executions).
#}
{% macro surrogate_key(columns) -%}
    {{ return(adapter.dispatch('surrogate_key', 'asp_telemetry')(columns)) }}
{%- endmacro %}

{% macro postgres__surrogate_key(columns) -%}
    md5(jsonb_build_array({{ columns | join(', ') }})::text)
{%- endmacro %}

{#- Spark: the same text as PostgreSQL's jsonb array ('["T1", null, 1, "2026-01-02"]'), each
    element rendered by to_json (a one-element array, its brackets cut), so that a key is
    the same on both engines. -#}
{% macro default__surrogate_key(columns) -%}
    md5(concat('[', concat_ws(', '
    {%- for column in columns -%}
        , substring(to_json(array({{ column }})), 2, length(to_json(array({{ column }}))) - 2)
    {%- endfor -%}
    ), ']'))
{%- endmacro %}
