{#
    Whether the price row `price` (a relation alias of stg_pricing__model_prices) is active at
    the instant `at`, as genai-prices decides it: from its effective_from on (start dates are
    UTC midnights), and inside its daily UTC window (off-peak prices; a window whose end is
    before its start runs over midnight).
#}
{% macro price_active(price, at) -%}
    (
        ({{ price }}.effective_from is null or {{ at }} >= {{ price }}.effective_from)
        and (
            {{ price }}.daily_from is null
            or case
                when {{ price }}.daily_from <= {{ price }}.daily_to
                    then {{ utc_time_of_day(at) }} >= {{ price }}.daily_from
                    and {{ utc_time_of_day(at) }} < {{ price }}.daily_to
                else {{ utc_time_of_day(at) }} >= {{ price }}.daily_from
                    or {{ utc_time_of_day(at) }} < {{ price }}.daily_to
            end
        )
    )
{%- endmacro %}
