{#
    The project's vars (dbt_project.yml, `--vars`), validated and typed before they reach
    SQL: each macro returns a SQL expression built from the parsed value (a number, an
    interval of whole seconds, a timestamp it wrote itself), never the text it was given,
    and a value it cannot parse fails the build with a message that names the var.
#}

{% macro incremental_lookback_interval() -%}
    {#- var incremental_lookback: minutes (a whole number), or '15 minutes', '1 hour 30 minutes' -#}
    {%- set name = 'incremental_lookback' -%}
    {%- set value = var(name) -%}
    {%- set seconds_per = {
        'second': 1, 'seconds': 1, 'sec': 1, 'secs': 1, 's': 1,
        'minute': 60, 'minutes': 60, 'min': 60, 'mins': 60, 'm': 60,
        'hour': 3600, 'hours': 3600, 'h': 3600,
        'day': 86400, 'days': 86400, 'd': 86400,
        'week': 604800, 'weeks': 604800
    } -%}
    {%- set expected = "minutes (a whole number) or an interval such as '15 minutes' or '1 hour 30 minutes'" -%}
    {%- set total = namespace(seconds=0) -%}
    {%- if value is integer -%}
        {%- set total.seconds = value * 60 -%}
    {%- elif value is string and modules.re.fullmatch('\\s*[0-9]{1,9}\\s*', value) -%}
        {%- set total.seconds = (value | int) * 60 -%}
    {%- elif value is string and modules.re.fullmatch('(\\s*[0-9]{1,9}\\s*[A-Za-z]+)+\\s*', value) -%}
        {%- for amount, unit in modules.re.findall('([0-9]+)\\s*([A-Za-z]+)', value) -%}
            {%- if unit | lower not in seconds_per -%}
                {{ invalid_var(name, value, expected ~ " (units: seconds, minutes, hours, days, weeks)") }}
            {%- endif -%}
            {%- set total.seconds = total.seconds + (amount | int) * seconds_per[unit | lower] -%}
        {%- endfor -%}
    {%- else -%}
        {{ invalid_var(name, value, expected) }}
    {%- endif -%}
    {%- if total.seconds < 0 or total.seconds > 3650 * 86400 -%}
        {{ invalid_var(name, value, "an interval between 0 and 3650 days") }}
    {%- endif -%}
    {{- return('make_interval(secs => ' ~ total.seconds ~ ')') -}}
{%- endmacro %}

{% macro positive_integer_var(name, largest=1000000) -%}
    {#- a var that must be a whole number from 1 to `largest`, as a SQL integer literal -#}
    {%- set value = var(name) -%}
    {%- if value is integer -%}
        {%- set number = value -%}
    {%- elif value is string and modules.re.fullmatch('\\s*[0-9]{1,9}\\s*', value) -%}
        {%- set number = value | int -%}
    {%- else -%}
        {{ invalid_var(name, value, "a whole number") }}
    {%- endif -%}
    {%- if number < 1 or number > largest -%}
        {{ invalid_var(name, value, "a whole number from 1 to " ~ largest) }}
    {%- endif -%}
    {{- return(number | string) -}}
{%- endmacro %}

{% macro as_of_timestamp() -%}
    {#- var as_of: an ISO 8601 timestamp with its UTC offset, as a timestamptz; now() when unset -#}
    {%- set name = 'as_of' -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or value == '' -%}
        {{- return('now()') -}}
    {%- endif -%}
    {%- set expected = "an ISO 8601 timestamp with its UTC offset, such as '2026-01-31T00:00:00+00:00'" -%}
    {#- YAML may have parsed the value already (a datetime or a date): read it as text -#}
    {%- set text = value | string if value is not string else value -%}
    {%- set parts = modules.re.fullmatch(
        '\\s*([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\\.([0-9]{1,6}))?)?\\s*(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)\\s*',
        text) -%}
    {%- if parts is none -%}
        {{ invalid_var(name, value, expected) }}
    {%- endif -%}
    {%- set year, month, day = parts.group(1) | int, parts.group(2) | int, parts.group(3) | int -%}
    {%- set hour, minute, second = parts.group(4) | int, parts.group(5) | int, (parts.group(6) or '0') | int -%}
    {%- set zone = parts.group(8) | upper -%}
    {%- if zone == 'Z' -%}
        {%- set zone = '+00:00' -%}
    {%- endif -%}
    {%- set zone_hours = zone[1:3] | int -%}
    {%- set zone_minutes = (zone[3:] | replace(':', '') or '0') | int -%}
    {%- if year < 1 or year > 9998 or month < 1 or month > 12 or day < 1 or hour > 23 or minute > 59
          or second > 59 or zone_hours > 14 or zone_minutes > 59 -%}
        {{ invalid_var(name, value, expected ~ " (a date and time that exists)") }}
    {%- endif -%}
    {%- set next_month = modules.datetime.date(year + (1 if month == 12 else 0), 1 if month == 12 else month + 1, 1) -%}
    {%- if day > (next_month - modules.datetime.timedelta(days=1)).day -%}
        {{ invalid_var(name, value, expected ~ " (a date that exists)") }}
    {%- endif -%}
    {%- set fraction = ((parts.group(7) or '0') ~ '000000')[:6] -%}
    {%- set literal = '%04d-%02d-%02d %02d:%02d:%02d.%s%s%02d:%02d' | format(
        year, month, day, hour, minute, second, fraction, zone[0], zone_hours, zone_minutes) -%}
    {{- return("'" ~ literal ~ "'::timestamptz") -}}
{%- endmacro %}

{% macro invalid_var(name, value, expected) -%}
    {%- set shown = value | string -%}
    {%- set shown = shown[:60] ~ '...' if shown | length > 60 else shown -%}
    {{ exceptions.raise_compiler_error("var " ~ name ~ ": expected " ~ expected ~ ", got " ~ shown | tojson) }}
{%- endmacro %}

{% macro validate_vars() -%}
    {#- on-run-start: every var is checked before anything runs, used by the selected nodes or not -#}
    {%- do incremental_lookback_interval() -%}
    {%- do positive_integer_var('cost_window_days', largest=36500) -%}
    {%- do positive_integer_var('error_prone_min_defects') -%}
    {%- do as_of_timestamp() -%}
{%- endmacro %}
