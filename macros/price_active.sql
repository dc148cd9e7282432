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
                    then ({{ at }} at time zone 'UTC')::time >= {{ price }}.daily_from
                    and ({{ at }} at time zone 'UTC')::time < {{ price }}.daily_to
                else ({{ at }} at time zone 'UTC')::time >= {{ price }}.daily_from
                    or ({{ at }} at time zone 'UTC')::time < {{ price }}.daily_to
            end
        )
    )
{%- endmacro %}
