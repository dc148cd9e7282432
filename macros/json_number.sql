{#
    A number from a JSON object, or NULL when the key is missing or its value is not a
    number (a JSON number, or a string holding one). Never raises, so one malformed
    effort_to_fix_json or estimated_cost_vector_json cannot fail a whole build; the
    source tests report such values by row.
    Several keys may be given: the first present wins (the specification writes both
    api_cost and api_cost_usd).
#}
{% macro json_number(json_column, keys) -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {{ return(adapter.dispatch('json_number', 'asp_telemetry')(json_column, keys)) }}
{%- endmacro %}

{% macro postgres__json_number(json_column, keys) -%}
    coalesce(
    {%- for key in keys %}
        case
            when jsonb_typeof({{ json_column }} -> '{{ key }}') = 'number'
                then ({{ json_column }} ->> '{{ key }}')::numeric
            when jsonb_typeof({{ json_column }} -> '{{ key }}') = 'string'
                and ({{ json_column }} ->> '{{ key }}') ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$'
                then ({{ json_column }} ->> '{{ key }}')::numeric
        end{{ "," if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}

{#- Spark: the JSON text is a string column; get_json_object gives a number's text, or a
    string's content, so the same two cases pass the same test (true, objects and arrays do
    not match it). -#}
{% macro default__json_number(json_column, keys) -%}
    coalesce(
    {%- for key in keys %}
        case
            when get_json_object({{ json_column }}, '$.{{ key }}')
                rlike '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$'
                then cast(trim(get_json_object({{ json_column }}, '$.{{ key }}')) as double)
        end{{ "," if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}
