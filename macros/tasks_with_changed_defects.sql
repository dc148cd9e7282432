{#
    int_review_outcomes' increment, by task.

    tasks_with_changed_defects(): a query of the tasks with a defect in int_defects_phased
    whose updated_at is after the watermark of {{ this }} (max(source_changed_at) -
    var('incremental_lookback')).

    remove_rows_of_changed_tasks(): a pre-hook that deletes those tasks' rows from
    {{ this }} before the increment inserts what they count now. delete+insert alone deletes
    only the keys of its new rows: a task whose changed defects count in no review phase any
    more (found to be a false positive, or moved to another removing phase) would keep its
    old rows, where a full refresh has none. Nothing when the model is built whole. The
    model's SQL is compiled before its pre-hooks run, so both read the same watermark.
#}
{% macro tasks_with_changed_defects() -%}
    select distinct task_id
    from {{ ref('int_defects_phased') }}
    where updated_at > {{ incremental_watermark('source_changed_at') }}
{%- endmacro %}

{% macro remove_rows_of_changed_tasks() -%}
    {%- if execute and is_incremental() -%}
        delete from {{ this }}
        where task_id in ({{ tasks_with_changed_defects() }})
    {%- endif -%}
{%- endmacro %}
