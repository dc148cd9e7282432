{#
    dbt's get_where_subquery (the `where` config of data tests), plus two named filters, so
    that a scheduled build tests what changed, not whole tables that only grow:
    - `where: cost_rows_since_last_build` tests only the agent_cost_vector rows that the next
      incremental run of int_agent_executions will read (loaded after its watermark). Cost
      rows are append-only (asp_writer can neither update nor delete them), so a row tested
      once stays good.
    - `where: rows_changed_since_last_build` tests only the task_metadata and defect_log rows
      inserted or updated (updated_at, migration 0005's trigger) after the watermark of
      fct_task_costs, which reads every one of them (max(source_changed_at) -
      var('incremental_lookback')). A row not changed since it was tested stays good.
    This keeps an incremental build from scanning millions of old rows for every source
    test. A --full-refresh build, or a first build, tests every row.
#}

{% macro postgres__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == 'cost_rows_since_last_build' -%}
        {%- set where = cost_rows_since_last_build() -%}
    {%- elif where == 'rows_changed_since_last_build' -%}
        {%- set where = rows_changed_since_last_build() -%}
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

{#- Spark: the same named filter; it tests every row there (the lake's identities are
    enforced by views, macros/lake_sources.sql) -#}
{% macro spark__get_where_subquery(relation) -%}
    {{ return(postgres__get_where_subquery(relation)) }}
{%- endmacro %}

{% macro cost_rows_since_last_build() -%}
    {{ return(changed_after_watermark_of('int_agent_executions', 'last_loaded_at', 'loaded_at')) }}
{%- endmacro %}

{% macro rows_changed_since_last_build() -%}
    {{ return(changed_after_watermark_of('fct_task_costs', 'source_changed_at', 'updated_at')) }}
{%- endmacro %}

{#
    `column > <watermark of model>` ('true' on a full refresh, or before the model exists):
    the model where the project puts it, not a ref (a test's filter is no dependency).
#}
{% macro changed_after_watermark_of(model, watermark_column, column) -%}
    {%- if not execute or flags.FULL_REFRESH or target.type != 'postgres' -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ model] -%}
    {%- set built = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- if built is none -%}
        {{ return('true') }}
    {%- endif -%}
    {{ return(column ~ ' > ' ~ watermark_of(built, watermark_column)) }}
{%- endmacro %}
