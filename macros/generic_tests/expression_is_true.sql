{#
    Every row must satisfy `expression` (a SQL boolean over the model's columns). A NULL
    result counts as satisfied, as in a CHECK constraint. Failing rows are returned whole.
#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
