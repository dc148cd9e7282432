{#
    Incremental models by day, and the day that loses every row it had (its only execution
    moved to an earlier day when a late cost row arrived). Both strategies replace only what
    the increment's new rows name: delete+insert (PostgreSQL) deletes the keys of its new rows,
    insert_overwrite (Spark, docs/spark.md "Incremental models") the partitions its new rows
    fall in. A day with no new row keeps its old rows, where a full refresh has none.

    replaces_partitions(): whether this build of the model is an insert_overwrite increment.

    remove_emptied_days(upstream, column, partitions_only=false): a pre-hook that removes the
    rows of {{ this }} whose day (`column`, a date) the model `upstream` no longer holds at all,
    so that the increment equals a full refresh: on insert_overwrite it drops their
    partitions (it runs those statements itself and renders nothing: one per day), on
    delete+insert it is one delete (unless partitions_only: a model whose unique key
    replaces such rows anyway). Nothing when the model is built whole. The days dropped come
    from the table itself, typed, each written as a date literal.
#}
{% macro replaces_partitions() -%}
    {{ return(is_incremental() and config.get('incremental_strategy') == 'insert_overwrite') }}
{%- endmacro %}

{% macro remove_emptied_days(upstream, column, partitions_only=false) -%}
    {%- if execute and replaces_partitions() -%}
        {%- set query -%}
            select distinct published.{{ column }}
            from {{ this }} as published
            left anti join {{ ref(upstream) }} as current_rows
                on current_rows.{{ column }} = published.{{ column }}
        {%- endset -%}
        {%- for value in run_query(query).columns[0].values() -%}
            {%- set day = modules.datetime.date.fromisoformat((value if value is string else value.isoformat())[:10]) -%}
            {%- do run_query(
                'alter table ' ~ this ~ ' drop if exists partition (' ~ column ~ " = date '" ~ day.isoformat() ~ "')"
            ) -%}
        {%- endfor -%}
    {%- elif execute and is_incremental() and not partitions_only -%}
        delete from {{ this }} as published
        where not exists (
            select 1
            from {{ ref(upstream) }} as current_rows
            where current_rows.{{ column }} = published.{{ column }}
        )
    {%- endif -%}
{%- endmacro %}
