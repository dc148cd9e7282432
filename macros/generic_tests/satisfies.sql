{#
    Every row must satisfy `expression`, a SQL boolean over the model's columns. A NULL
    result counts as satisfied, as in a CHECK constraint. Failing rows are returned whole.

    Not dbt_utils' expression_is_true: that one prefixes the column it is attached to to the
    expression (`column_name expression`); this one takes the expression whole, wherever it is
    attached (a column's test only names the column in the test's label).
#}
{% test satisfies(model, expression, column_name=none) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
