{#
    The SQL that differs between the engines the project builds on (docs/dbt.md, "Two
    engines"): PostgreSQL (the default target) and Apache Spark (target spark, docs/spark.md).
    Each macro dispatches (adapter.dispatch) to a postgres__ version, which is exactly the SQL
    the project used before it ran on Spark, and a default__ version in Spark SQL. Models
    and macros write these instead of an engine's own syntax; everything else they write is
    SQL both engines read alike.

    Numbers: PostgreSQL computes in exact numeric; Spark's decimals lose scale in products
    and quotients (38 digits at most), so on Spark the measures are doubles (about 16
    significant digits): the same values to 1e-12 relative or better.
#}

{# expr as the engine's exact-enough number type (numeric; double on Spark) #}
{% macro as_number(expr) -%}
    {{ return(adapter.dispatch('as_number', 'asp_telemetry')(expr)) }}
{%- endmacro %}
{% macro postgres__as_number(expr) -%}
    ({{ expr }})::numeric
{%- endmacro %}
{% macro default__as_number(expr) -%}
    cast({{ expr }} as double)
{%- endmacro %}

{# expr as text #}
{% macro as_text(expr) -%}
    {{ return(adapter.dispatch('as_text', 'asp_telemetry')(expr)) }}
{%- endmacro %}
{% macro postgres__as_text(expr) -%}
    {{ expr }}::text
{%- endmacro %}
{% macro default__as_text(expr) -%}
    cast({{ expr }} as string)
{%- endmacro %}

{# a number without trailing zeros in its scale (PostgreSQL's trim_scale) #}
{% macro trimmed(expr) -%}
    {{ return(adapter.dispatch('trimmed', 'asp_telemetry')(expr)) }}
{%- endmacro %}
{% macro postgres__trimmed(expr) -%}
    trim_scale({{ expr }})
{%- endmacro %}
{#- Spark: a double rounded to 15 significant digits, so that 0.8999999999999999 (0.9 after
    a few float operations) reads 0.9, as PostgreSQL's exact numeric does -#}
{% macro default__trimmed(expr) -%}
    cast(format_string('%.15g', cast({{ expr }} as double)) as double)
{%- endmacro %}

{# aggregate(expr) over the rows where condition holds: `aggregate(expr) filter (where ...)` #}
{% macro agg_where(aggregate, expr, condition) -%}
    {{ return(adapter.dispatch('agg_where', 'asp_telemetry')(aggregate, expr, condition)) }}
{%- endmacro %}
{% macro postgres__agg_where(aggregate, expr, condition) -%}
    {{ aggregate }}({{ expr }}) filter (where {{ condition }})
{%- endmacro %}
{% macro default__agg_where(aggregate, expr, condition) -%}
    {{ aggregate }}(case when {{ condition }} then {{ expr }} end)
{%- endmacro %}

{# the number of rows where condition holds: `count(*) filter (where ...)` #}
{% macro count_where(condition) -%}
    {{ return(adapter.dispatch('count_where', 'asp_telemetry')(condition)) }}
{%- endmacro %}
{% macro postgres__count_where(condition) -%}
    count(*) filter (where {{ condition }})
{%- endmacro %}
{% macro default__count_where(condition) -%}
    count_if({{ condition }})
{%- endmacro %}

{# the UTC date of a timestamp (Spark's session time zone is UTC: profiles.yml) #}
{% macro utc_date(ts) -%}
    {{ return(adapter.dispatch('utc_date', 'asp_telemetry')(ts)) }}
{%- endmacro %}
{% macro postgres__utc_date(ts) -%}
    ({{ ts }} at time zone 'UTC')::date
{%- endmacro %}
{% macro default__utc_date(ts) -%}
    to_date({{ ts }})
{%- endmacro %}

{# the UTC time of day of a timestamp, comparable with model_prices.daily_from/daily_to
   (a time on PostgreSQL; 'HH:MM:SS.ffffff' text on the lake) #}
{% macro utc_time_of_day(ts) -%}
    {{ return(adapter.dispatch('utc_time_of_day', 'asp_telemetry')(ts)) }}
{%- endmacro %}
{% macro postgres__utc_time_of_day(ts) -%}
    ({{ ts }} at time zone 'UTC')::time
{%- endmacro %}
{% macro default__utc_time_of_day(ts) -%}
    date_format({{ ts }}, 'HH:mm:ss.SSSSSS')
{%- endmacro %}

{# a timestamp `days` whole days before ts (days: an integer the project rendered itself) #}
{% macro days_before(ts, days) -%}
    {{ return(adapter.dispatch('days_before', 'asp_telemetry')(ts, days)) }}
{%- endmacro %}
{% macro postgres__days_before(ts, days) -%}
    {{ ts }} - make_interval(days => {{ days }})
{%- endmacro %}
{% macro default__days_before(ts, days) -%}
    {{ ts }} - make_dt_interval({{ days }})
{%- endmacro %}

{# an interval of whole seconds (an integer the project rendered itself) #}
{% macro seconds_interval(seconds) -%}
    {{ return(adapter.dispatch('seconds_interval', 'asp_telemetry')(seconds)) }}
{%- endmacro %}
{% macro postgres__seconds_interval(seconds) -%}
    make_interval(secs => {{ seconds }})
{%- endmacro %}
{% macro default__seconds_interval(seconds) -%}
    make_dt_interval(0, 0, 0, {{ seconds }})
{%- endmacro %}

{# a timestamp literal from text the project wrote itself (macros/vars.sql) #}
{% macro timestamp_literal(text) -%}
    {{ return(adapter.dispatch('timestamp_literal', 'asp_telemetry')(text)) }}
{%- endmacro %}
{% macro postgres__timestamp_literal(text) -%}
    '{{ text }}'::timestamptz
{%- endmacro %}
{% macro default__timestamp_literal(text) -%}
    timestamp '{{ text }}'
{%- endmacro %}

{# the text of a JSON object's key (->>): NULL when missing; fixed keys only #}
{% macro json_text(json_column, key) -%}
    {{ return(adapter.dispatch('json_text', 'asp_telemetry')(json_column, key)) }}
{%- endmacro %}
{% macro postgres__json_text(json_column, key) -%}
    ({{ json_column }} ->> '{{ key }}')
{%- endmacro %}
{% macro default__json_text(json_column, key) -%}
    get_json_object({{ json_column }}, '$.{{ key }}')
{%- endmacro %}

{# the build's time #}
{% macro build_time() -%}
    {{ return(adapter.dispatch('build_time', 'asp_telemetry')()) }}
{%- endmacro %}
{% macro postgres__build_time() -%}
    now()
{%- endmacro %}
{% macro default__build_time() -%}
    current_timestamp()
{%- endmacro %}

{# PostgreSQL's format(fmt, args...) for the messages of the generic tests: %s a value as
   text ('' for NULL), %L a value quoted as a literal (NULL unquoted); args are SQL
   expressions #}
{% macro sql_format(fmt, args) -%}
    {{ return(adapter.dispatch('sql_format', 'asp_telemetry')(fmt, args)) }}
{%- endmacro %}
{% macro postgres__sql_format(fmt, args) -%}
    format('{{ fmt }}', {{ args | join(', ') }})
{%- endmacro %}
{% macro default__sql_format(fmt, args) -%}
    {%- set pieces = modules.re.split('(%[sL])', fmt) -%}
    {%- set parts = [] -%}
    {%- set position = namespace(next=0) -%}
    {%- for piece in pieces if piece -%}
        {%- if piece == '%s' -%}
            {%- do parts.append('coalesce(cast(' ~ args[position.next] ~ ' as string), \'\')') -%}
            {%- set position.next = position.next + 1 -%}
        {%- elif piece == '%L' -%}
            {%- do parts.append(quoted_literal(args[position.next])) -%}
            {%- set position.next = position.next + 1 -%}
        {%- else -%}
            {%- do parts.append("'" ~ piece | replace('\\', '\\\\') | replace("'", "\\'") ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    concat({{ parts | join(', ') }})
{%- endmacro %}

{# a value as an SQL literal's text ('O''Brien'), NULL as NULL (PostgreSQL's quote_nullable) #}
{% macro quoted_literal(expr) -%}
    {{ return(adapter.dispatch('quoted_literal', 'asp_telemetry')(expr)) }}
{%- endmacro %}
{% macro postgres__quoted_literal(expr) -%}
    quote_nullable({{ expr }})
{%- endmacro %}
{% macro default__quoted_literal(expr) -%}
    coalesce(concat('\'', replace(cast({{ expr }} as string), '\'', '\'\''), '\''), 'NULL')
{%- endmacro %}

{# Whether json_column holds a JSON object whose `keys`, where present, are numbers (a
   source test's expression). Spark cannot tell a JSON number from a string holding one: it
   checks that the value reads as a number. #}
{% macro json_object_of_numbers(json_column, keys) -%}
    {{ return(adapter.dispatch('json_object_of_numbers', 'asp_telemetry')(json_column, keys)) }}
{%- endmacro %}
{% macro postgres__json_object_of_numbers(json_column, keys) -%}
    jsonb_typeof({{ json_column }}) = 'object'
    {%- for key in keys %}
    and coalesce(jsonb_typeof({{ json_column }} -> '{{ key }}'), 'number') = 'number'
    {%- endfor %}
{%- endmacro %}
{% macro default__json_object_of_numbers(json_column, keys) -%}
    from_json({{ json_column }}, 'map<string,string>') is not null
    {%- for key in keys %}
    and coalesce(get_json_object({{ json_column }}, '$.{{ key }}') rlike '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$', true)
    {%- endfor %}
{%- endmacro %}

{# the Monday (a date) of the UTC week of a timestamp #}
{% macro utc_week_start(ts) -%}
    {{ return(adapter.dispatch('utc_week_start', 'asp_telemetry')(ts)) }}
{%- endmacro %}
{% macro postgres__utc_week_start(ts) -%}
    date_trunc('week', {{ ts }} at time zone 'UTC')::date
{%- endmacro %}
{% macro default__utc_week_start(ts) -%}
    to_date(date_trunc('week', {{ ts }}))
{%- endmacro %}

{# Whether two sums of the same numbers differ (`is distinct from`, NULLs equal). Exact on
   PostgreSQL; on Spark doubles summed in another order differ in their last bits, so
   there "differ" means by more than 1e-9 relative. #}
{% macro sums_differ(a, b) -%}
    {{ return(adapter.dispatch('sums_differ', 'asp_telemetry')(a, b)) }}
{%- endmacro %}
{% macro postgres__sums_differ(a, b) -%}
    {{ a }} is distinct from {{ b }}
{%- endmacro %}
{% macro default__sums_differ(a, b) -%}
    not coalesce({{ a }} <=> {{ b }} or abs({{ a }} - {{ b }}) <= 1e-9 * greatest(abs({{ a }}), abs({{ b }})), false)
{%- endmacro %}

{# The name of the function that drops a number's trailing zeros in its scale, to be called
   on an expression already rounded: trim_scale on PostgreSQL; on Spark nothing (a double has
   no scale), so `{{ fn }}(x)` is just `(x)` #}
{% macro scale_trim_function() -%}
    {{ return(adapter.dispatch('scale_trim_function', 'asp_telemetry')()) }}
{%- endmacro %}
{% macro postgres__scale_trim_function() -%}
    {{ return('trim_scale') }}
{%- endmacro %}
{% macro default__scale_trim_function() -%}
    {{ return('') }}
{%- endmacro %}

{# A JSON object of fixed keys and SQL values (`jsonb_build_object`), NULL values kept as
   null; no pairs: the empty object. pairs: [(key, expression), ...], keys the project's
   own. On Spark a JSON text (the lake's and the contracts' type for jsonb). #}
{% macro json_object(pairs) -%}
    {{ return(adapter.dispatch('json_object', 'asp_telemetry')(pairs)) }}
{%- endmacro %}
{% macro postgres__json_object(pairs) -%}
    {%- if pairs -%}
    jsonb_build_object(
        {%- for key, value in pairs %}
        '{{ key }}', {{ value }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
    {%- else -%}
    '{}'::jsonb
    {%- endif -%}
{%- endmacro %}
{% macro default__json_object(pairs) -%}
    {%- if pairs -%}
    to_json(
        named_struct(
            {%- for key, value in pairs %}
            '{{ key }}', {{ value }}{{ ',' if not loop.last }}
            {%- endfor %}
        ),
        map('ignoreNullFields', 'false')
    )
    {%- else -%}
    '{}'
    {%- endif -%}
{%- endmacro %}

{# A number as text rounded to `decimals` places, every place written ('18.20'): what
   PostgreSQL's format('%s', round(numeric, decimals)) writes. Spark rounds half up from the
   double's shortest decimal form, as PostgreSQL rounds the exact numeric. #}
{% macro rounded_text(expr, decimals) -%}
    {{ return(adapter.dispatch('rounded_text', 'asp_telemetry')(expr, decimals)) }}
{%- endmacro %}
{% macro postgres__rounded_text(expr, decimals) -%}
    round({{ expr }}, {{ decimals }})
{%- endmacro %}
{% macro default__rounded_text(expr, decimals) -%}
    cast(round(cast({{ expr }} as decimal(38, 12)), {{ decimals }}) as string)
{%- endmacro %}

{# A number as text without trailing zeros ('20', '0.9'): what PostgreSQL's
   format('%s', trim_scale(numeric)) writes; 12 decimal places at most on Spark. #}
{% macro trimmed_text(expr) -%}
    {{ return(adapter.dispatch('trimmed_text', 'asp_telemetry')(expr)) }}
{%- endmacro %}
{% macro postgres__trimmed_text(expr) -%}
    trim_scale({{ expr }})
{%- endmacro %}
{% macro default__trimmed_text(expr) -%}
    regexp_replace(cast(cast({{ expr }} as decimal(38, 12)) as string), '[.]?0+$', '')
{%- endmacro %}
