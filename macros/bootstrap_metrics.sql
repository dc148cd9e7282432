{#
    The pieces of metrics.md "Bootstrap learning" that more than one model uses.
#}

{# A MAPE leaves out the tasks whose actual value is 0 or NULL or whose estimate is NULL. #}
{% macro mape_keeps(actual, estimate) -%}
    ({{ actual }} > 0 and {{ estimate }} is not null)
{%- endmacro %}

{# Mean absolute percentage error of `estimate` against `actual` over the rows it keeps. #}
{% macro mape(actual, estimate) -%}
    {{ agg_where('avg', '100.0 * abs(' ~ actual ~ ' - ' ~ estimate ~ ') / ' ~ actual, mape_keeps(actual, estimate)) }}
{%- endmacro %}

{# Whether `value` meets `target` in `direction` (NULL when the direction is unknown). #}
{% macro meets_target(value, target, direction) -%}
    case {{ direction }}
        when 'lower_is_better' then {{ value }} <= {{ target }}
        when 'higher_is_better' then {{ value }} >= {{ target }}
    end
{%- endmacro %}
