{#
    dbt's get_where_subquery (the `where` config of data tests), plus one named filter:
    `where: cost_rows_since_last_build` tests only the agent_cost_vector rows that the next
    incremental run of int_agent_executions will read (loaded after its watermark). Cost rows
    are append-only (asp_writer cannot update or delete them), so a row tested once stays
    good; this keeps an incremental build from scanning millions of old rows for every source
    test. A --full-refresh build, or a first build, tests every row.
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

{#- Spark: the same named filter; it tests every row there (the lake's identities are
    enforced by views, macros/lake_sources.sql) -#}
{% macro spark__get_where_subquery(relation) -%}
    {{ return(postgres__get_where_subquery(relation)) }}
{%- endmacro %}

{% macro cost_rows_since_last_build() -%}
    {%- if not execute or flags.FULL_REFRESH or target.type != 'postgres' -%}
        {{ return('true') }}
    {%- endif -%}
    {#- int_agent_executions where the project puts it (not a ref: a test's filter is no dependency) -#}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.int_agent_executions'] -%}
    {%- set executions = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- if executions is none -%}
        {{ return('true') }}
    {%- endif -%}
    {{ return('loaded_at > ' ~ watermark_of(executions)) }}
{%- endmacro %}
