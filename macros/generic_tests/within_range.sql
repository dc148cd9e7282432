{#
    Values of column_name lie within [min_value, max_value] (either bound optional;
    inclusive unless inclusive=false). NULLs pass. One failing row per bad value, with a
    message naming it and how many rows carry it.

    Not dbt_utils' accepted_range, which returns the failing rows themselves.
#}
{% test within_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

{%- set low = '>=' if inclusive else '>' -%}
{%- set high = '<=' if inclusive else '<' -%}

select
    {{ column_name }} as bad_value,
    count(*) as row_count,
    {%- set bounds = ("[" if inclusive else "(") ~ (min_value if min_value is not none else "-inf") ~ ", "
        ~ (max_value if max_value is not none else "inf") ~ ("]" if inclusive else ")") %}
    {{ sql_format('%s %s outside %s (%s)', [
        "'" ~ column_name ~ "'", column_name, "'" ~ bounds ~ "'", rows_phrase('count(*)')
    ]) }} as message
from {{ model }}
where
    {{ column_name }} is not null
    and not (
        true
        {%- if min_value is not none %} and {{ column_name }} {{ low }} {{ min_value }}{% endif %}
        {%- if max_value is not none %} and {{ column_name }} {{ high }} {{ max_value }}{% endif %}
    )
group by {{ column_name }}

{% endtest %}
