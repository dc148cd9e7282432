{#
    Incremental watermarks: the newest raw loaded_at a table has seen (held in `column`),
    minus var('incremental_lookback'). Cost rows loaded after it are new.

    Read once at run time and written into the SQL as a literal, so that PostgreSQL plans the
    filter on raw.agent_cost_vector.loaded_at with its statistics and the BRIN index (a
    subquery would be planned as an unknown parameter). An empty table gives -infinity,
    which recomputes everything.

    incremental_lookback() is the one place the var is read.
#}
{% macro incremental_lookback() -%}
    {{ return(var('incremental_lookback')) }}
{%- endmacro %}

{# The watermark of `relation` as a SQL timestamptz literal. #}
{% macro watermark_of(relation, column='last_loaded_at') -%}
    {%- set query -%}
        select coalesce(max({{ column }}) - interval '{{ incremental_lookback() }}', '-infinity'::timestamptz)::text
        from {{ relation }}
    {%- endset -%}
    {%- set watermark = run_query(query).columns[0].values()[0] -%}
    {{ return("'" ~ watermark ~ "'::timestamptz") }}
{%- endmacro %}

{# The watermark of the model being built ({{ this }}). #}
{% macro incremental_watermark(column='last_loaded_at') -%}
    {%- if execute -%}
        {{ watermark_of(this, column) }}
    {%- else -%}
        '-infinity'::timestamptz
    {%- endif -%}
{%- endmacro %}
