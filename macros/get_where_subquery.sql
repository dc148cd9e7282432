{#
    dbt's get_where_subquery (the `where` config of data tests), plus one named filter:
    `where: cost_rows_since_last_build` tests only the agent_cost_vector rows that the next
    incremental run of int_agent_executions will read (loaded after its watermark minus the
    lookback). Cost rows are append-only (asp_writer cannot update or delete them), so a row
    tested once stays good; this keeps an incremental build from scanning millions of old
    rows for every source test. A --full-refresh build, or a first build, tests every row.
#}
{% macro postgres__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == 'cost_rows_since_last_build' -%}
        {%- set where = cost_rows_since_last_build() -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro cost_rows_since_last_build() -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set executions = adapter.get_relation(database=target.database, schema='intermediate', identifier='int_agent_executions') -%}
    {%- if executions is none -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set query -%}
        select coalesce(max(last_loaded_at) - {{ incremental_lookback_interval() }}, '-infinity'::timestamptz)::text
        from {{ executions }}
    {%- endset -%}
    {%- set watermark = run_query(query).columns[0].values()[0] -%}
    {{ return("loaded_at > '" ~ watermark ~ "'::timestamptz") }}
{%- endmacro %}
