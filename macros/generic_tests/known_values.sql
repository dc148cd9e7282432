{#
    Every value of column_name must appear in `field` of the vocabulary `to` (a seed).
    One failing row per unknown value, with a message that names it and how many rows
    carry it: "unknown agent_role 'Coder' (3 rows)". NULLs are left to not_null.

    This is dbt's built-in `relationships` test (same arguments, same rule) with a better
    failure: relationships returns the bare failing values, this names each one and its count.
#}
{% test known_values(model, column_name, to, field) %}

with observed as (
    select
        {{ column_name }} as bad_value,
        count(*) as row_count
    from {{ model }}
    where {{ column_name }} is not null
    group by {{ column_name }}
),

vocabulary as (
    select distinct {{ field }} as known_value
    from {{ to }}
),

final as (
    select
        observed.bad_value,
        observed.row_count,
        {{ sql_format('unknown %s %L (%s)', ["'" ~ column_name ~ "'", 'observed.bad_value', rows_phrase('observed.row_count')]) }}
            as message
    from observed
    where not exists (
        select 1 from vocabulary where vocabulary.known_value = observed.bad_value
    )
)

select * from final

{% endtest %}
