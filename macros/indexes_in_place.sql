{#
    Post-hook of every model (dbt_project.yml), acting on the incremental tables of
    PostgreSQL that this run did not create: creates each index of the model's config that
    the table lacks. dbt creates a model's indexes only when it creates its table, so a table
    built before its model became incremental (or gained an index) would read its increments
    by scans until a --full-refresh, which under a retention policy loses history.

    An index counts as present when one on the table has the same columns in the same order,
    the same uniqueness and the same access method, whatever its name: dbt names an index
    with a hash that includes the time, so its `if not exists` never matches an index made by
    an earlier run. Indexes the config no longer lists are left alone (they may be a DBA's).
    Not dbt's get_show_indexes_sql: it lists an index's columns in no set order, so a
    two-column index could read as missing and be created again on every build.
#}
{% macro indexes_in_place() -%}
    {%- if execute and target.type == 'postgres' and config.get('materialized') == 'incremental'
        and config.get('indexes') and is_incremental() -%}
        {%- set query -%}
            select
                string_agg(attribute.attname, ',' order by key.position) as column_list,
                index_entry.indisunique as is_unique,
                access_method.amname as method
            from pg_index as index_entry
            inner join pg_class as index_relation on index_entry.indexrelid = index_relation.oid
            inner join pg_am as access_method on index_relation.relam = access_method.oid
            cross join lateral unnest(index_entry.indkey) with ordinality as key (attnum, position)
            inner join pg_attribute as attribute
                on index_entry.indrelid = attribute.attrelid and key.attnum = attribute.attnum
            where index_entry.indrelid = to_regclass('{{ this }}')
            group by index_entry.indexrelid, index_entry.indisunique, access_method.amname
        {%- endset -%}
        {%- set present = [] -%}
        {%- for row in run_query(query) -%}
            {%- do present.append([row['column_list'], row['is_unique'], row['method']]) -%}
        {%- endfor -%}
        {%- set missing = [] -%}
        {%- for index in config.get('indexes') -%}
            {%- set wanted = adapter.parse_index(index) -%}
            {%- if [wanted.columns | join(','), wanted.unique, wanted.type or 'btree'] not in present -%}
                {%- do missing.append(get_create_index_sql(this, index)) -%}
            {%- endif -%}
        {%- endfor -%}
        {{ missing | join(';\n') }}
    {%- endif -%}
{%- endmacro %}
