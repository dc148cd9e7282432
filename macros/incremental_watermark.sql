{#
    Incremental watermarks: the newest raw loaded_at a table has seen (held in `column`),
    minus var('incremental_lookback'). Cost rows loaded after it are new.

    Read once at run time and written into the SQL as a literal, so that PostgreSQL plans the
    filter on raw.agent_cost_vector.loaded_at with its statistics and the BRIN index (a
    subquery would be planned as an unknown parameter). An empty table gives -infinity,
    which recomputes everything, and so does a table built before the column was added to
    its model (an upgrade): on_schema_change (dbt_project.yml) appends the column, and every
    row is recomputed by key, as a full refresh would, but without dropping the rows of raw
    data a retention policy has since removed.

    incremental_lookback() (macros/vars.sql) is the one place the var is read: validated, and
    typed into a SQL interval.
#}

{# The watermark of `relation` as a SQL timestamptz literal. #}
{% macro watermark_of(relation, column='last_loaded_at') -%}
    {%- set built_columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- if column | lower not in built_columns -%}
        {{ return("'-infinity'::timestamptz") }}
    {%- endif -%}
    {%- set query -%}
        select coalesce(max({{ column }}) - {{ incremental_lookback() }}, '-infinity'::timestamptz)::text
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
