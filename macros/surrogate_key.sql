{#
    A surrogate key: the md5 of the JSON array of the given columns. JSON keeps NULL apart
    from '' and escapes separators, so two rows get the same key exactly when the columns
    are equal with NULLs equal (as metrics.md keys agent executions).
#}
{% macro surrogate_key(columns) -%}
    md5(jsonb_build_array({{ columns | join(', ') }})::text)
{%- endmacro %}
