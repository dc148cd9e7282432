{#
    Where key_column holds a value the vocabulary `to` knows, value_column (or the tested
    column) must hold the vocabulary's value_field for it: a metric_unit that matches its
    metric_type. Unknown keys are left to known_values. One failing row per bad pair, with a
    message naming it.
#}
{% test consistent_with_vocabulary(model, key_column, to, key_field, value_field, value_column=none, column_name=none) %}

{%- set value_column = value_column or column_name -%}

with observed as (
    select
        {{ key_column }} as key_value,
        {{ value_column }} as bad_value,
        count(*) as row_count
    from {{ model }}
    group by {{ key_column }}, {{ value_column }}
),

vocabulary as (
    select
        {{ key_field }} as key_value,
        {{ value_field }} as expected_value
    from {{ to }}
),

final as (
    select
        observed.key_value,
        observed.bad_value,
        vocabulary.expected_value,
        observed.row_count,
        {{ sql_format('%s %L does not match %s %L (expected %L) (%s)', [
            "'" ~ value_column ~ "'", 'observed.bad_value', "'" ~ key_column ~ "'", 'observed.key_value',
            'vocabulary.expected_value', rows_phrase('observed.row_count')
        ]) }} as message
    from observed
    inner join vocabulary on vocabulary.key_value = observed.key_value
    where observed.bad_value is distinct from vocabulary.expected_value
)

select * from final

{% endtest %}
