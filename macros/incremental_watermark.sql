{#
    The incremental watermark of {{ this }}: the newest raw loaded_at it has seen (held in
    `column`), minus var('incremental_lookback') (validated: macros/vars.sql). Cost rows loaded
    after it are new.

    Read once at run time and written into the SQL as a literal, so that PostgreSQL plans the
    filter on raw.agent_cost_vector.loaded_at with its statistics and the BRIN index (a
    subquery would be planned as an unknown parameter). An empty table gives -infinity,
    which recomputes everything.
#}
{% macro incremental_watermark(column='last_loaded_at') -%}
    {%- set lookback = incremental_lookback_interval() -%}
    {%- if execute -%}
        {%- set query -%}
            select coalesce(max({{ column }}) - {{ lookback }}, '-infinity'::timestamptz)::text
            from {{ this }}
        {%- endset -%}
        {%- set watermark = run_query(query).columns[0].values()[0] -%}
    {%- else -%}
        {%- set watermark = '-infinity' -%}
    {%- endif -%}
    '{{ watermark }}'::timestamptz
{%- endmacro %}
