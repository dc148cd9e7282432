{#
    No two rows share the same values of column_names (NULLs compare equal, as in GROUP BY).
    One failing row per duplicated combination, with its count and a message naming it.

    Not dbt_utils' unique_combination_of_columns (whose arguments and failing rows differ).
#}
{% test unique_together(model, column_names) %}

select
    {{ column_names | join(', ') }},
    count(*) as row_count,
    {%- set quoted = [] -%}
    {%- for column in column_names -%}
        {%- do quoted.append(quoted_literal(column)) -%}
    {%- endfor %}
    {{ sql_format('duplicate (%s) = (%s) (%s)', [
        "'" ~ column_names | join(", ") ~ "'",
        "concat_ws(', ', " ~ quoted | join(', ') ~ ")",
        rows_phrase('count(*)')
    ]) }} as message
from {{ model }}
group by {{ column_names | join(', ') }}
having count(*) > 1

{% endtest %}
