{#
    No two rows share the same values of combination_of_columns (NULLs compare equal, as in
    GROUP BY). One failing row per duplicated combination, with its count.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as row_count
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
