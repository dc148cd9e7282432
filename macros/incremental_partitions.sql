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

    changed_execution_days(): for a model incremental by day whose rows keep `executions`,
    `cost_rows` and `last_loaded_at` (fct_daily_role_costs, int_daily_model_costs), the CTEs
    `executions_per_day`, `published_per_day` and `touched_dates`: the days whose counts in
    int_agent_executions differ from what {{ this }} holds (new executions, late rows of old
    ones, an execution whose start moved to another day). Each CTE ends with a comma: call it
    first inside `with`, on an incremental build only.
    On PostgreSQL the counts are compared from the first changed day on (macro
    first_changed_day_condition): the earliest day of an execution loaded after {{ this }}'s
    watermark. An execution only gains cost rows, and a gained row can only move its start
    earlier, so the day it left is later than the day it is on now: every day that changed
    is on or after that day, and a load of recent executions reads recent days (indexes on
    execution_date and last_loaded_at), not the table. On Spark (no watermark there) every
    day is compared.
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

{% macro changed_execution_days() %}
{%- set bound = first_changed_day_condition() if target.type == 'postgres' else none %}
executions_per_day as (
    select
        execution_date,
        count(*) as executions,
        sum(metric_rows) as cost_rows
    from {{ ref('int_agent_executions') }}
    {%- if bound %}
    where {{ bound }}
    {%- endif %}
    group by execution_date
),

published_per_day as (
    select
        execution_date,
        sum(executions) as executions,
        sum(cost_rows) as cost_rows
    from {{ this }}
    {%- if bound %}
    where {{ bound }}
    {%- endif %}
    group by execution_date
),

touched_dates as (
    select coalesce(executions_per_day.execution_date, published_per_day.execution_date) as execution_date
    from executions_per_day
    full outer join published_per_day on published_per_day.execution_date = executions_per_day.execution_date
    where
        executions_per_day.executions is distinct from published_per_day.executions
        or executions_per_day.cost_rows is distinct from published_per_day.cost_rows
),
{% endmacro %}

{#
    changed_execution_days()'s bound on PostgreSQL: `execution_date >= <the first changed
    day>` as a date literal (read once at run time, as the watermark is, so that the planner
    sees a constant and reads the range by index), or `false` when no execution was loaded
    after the watermark. The day is parsed and written back as a date: nothing else reaches
    the SQL.
#}
{% macro first_changed_day_condition() -%}
    {%- if not execute -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set query -%}
        select min(execution_date)::text
        from {{ ref('int_agent_executions') }}
        where last_loaded_at > {{ incremental_watermark() }}
    {%- endset -%}
    {%- set first_day = run_query(query).columns[0].values()[0] -%}
    {%- if first_day is none -%}
        {{ return('false') }}
    {%- endif -%}
    {{ return("execution_date >= date '" ~ modules.datetime.date.fromisoformat(first_day).isoformat() ~ "'") }}
{%- endmacro %}
