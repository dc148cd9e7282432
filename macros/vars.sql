{#
    The project's vars (dbt_project.yml, `--vars`), validated and typed before they reach
    SQL: each macro returns a SQL expression built from the parsed value (a number, an
    interval of whole seconds, a timestamp it wrote itself), never the text it was given,
    and a value it cannot parse fails the build with a message that names the var
    ("var NAME: expected ..., got ..."). validate_vars() (on-run-start) checks them all before
    anything runs; the models read each var only through its macro here:

      incremental_lookback      incremental_lookback()      (macro watermark_of)
      cost_window_days          positive_integer_var(...)   (mart_cost_by_agent_role)
      error_prone_min_defects   positive_integer_var(...)   (mart_defect_density_by_component)
      bootstrap_period_days     positive_integer_var(...)   (macro bootstrap_period)
      as_of                     timestamp_var('as_of')      (mart_cost_by_agent_role)
      bootstrap_period_start    timestamp_var(...)          (macro bootstrap_period)
      bootstrap_period_end      timestamp_var(...)          (macro bootstrap_period)
#}

{% macro incremental_lookback() -%}
    {#- var incremental_lookback, the one place it is read: minutes (a whole number), or
        '15 minutes', '1 hour 30 minutes'; as a SQL interval -#}
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
    {{- return(seconds_interval(total.seconds)) -}}
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

{% macro timestamp_var(name) -%}
    {#- a var that is unset or an ISO 8601 timestamp with its UTC offset: none, or the
        timestamp as a SQL timestamptz literal -#}
    {%- set parsed = timestamp_var_value(name) -%}
    {%- if parsed is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(timestamp_literal(parsed.isoformat(sep=' ', timespec='microseconds'))) -}}
{%- endmacro %}

{% macro timestamp_var_value(name) -%}
    {#- the var `name` parsed into an aware datetime (modules.datetime), or none when unset -#}
    {%- set value = var(name, none) -%}
    {%- if value is none or value == '' -%}
        {{- return(none) -}}
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
    {%- set offset_minutes = (zone_hours * 60 + zone_minutes) * (-1 if zone[0] == '-' else 1) -%}
    {%- set zone_info = modules.pytz.FixedOffset(offset_minutes) -%}
    {%- set microseconds = ((parts.group(7) or '0') ~ '000000')[:6] | int -%}
    {{- return(modules.datetime.datetime(year, month, day, hour, minute, second, microseconds, zone_info)) -}}
{%- endmacro %}

{% macro invalid_var(name, value, expected) -%}
    {%- set shown = value | string -%}
    {%- set shown = shown[:60] ~ '...' if shown | length > 60 else shown -%}
    {{ exceptions.raise_compiler_error("var " ~ name ~ ": expected " ~ expected ~ ", got " ~ shown | tojson) }}
{%- endmacro %}

{% macro validate_vars() -%}
    {#- on-run-start: every var is checked before anything runs, used by the selected nodes or not -#}
    {%- do incremental_lookback() -%}
    {%- do positive_integer_var('cost_window_days', largest=36500) -%}
    {%- do positive_integer_var('error_prone_min_defects') -%}
    {%- do timestamp_var('as_of') -%}
    {%- do bootstrap_period() -%}
{%- endmacro %}
