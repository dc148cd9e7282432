{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key='task_id',
        indexes=[
            {'columns': ['source_changed_at']},
        ],
    )
}}

{#-
    One row per task: its metadata, its totals over all its cost rows, its PROBE-AI estimate
    and estimating error, and its real defects (metrics.md, "Agent executions and task
    totals"). Tasks that appear only in cost rows or defects (their metadata not loaded yet)
    are listed too, with NULL metadata.

    Incremental: a task is recomputed when anything it is made of changed after this table's
    watermark (max(source_changed_at) - var('incremental_lookback')): its task_metadata row
    (updated_at, stamped by migration 0005's trigger on every update but the write-back's,
    migration 0010), its cost totals (last_loaded_at of int_task_cost_totals) or any of its
    defects (updated_at). Recomputed tasks replace their rows by task_id.
-#}

with

{% if is_incremental() %}
{%- set watermark = incremental_watermark('source_changed_at') %}
changed_tasks as (
    select task_id
    from {{ ref('stg_asp__task_metadata') }}
    where updated_at > {{ watermark }}
    union
    select task_id
    from {{ ref('int_task_cost_totals') }}
    where last_loaded_at > {{ watermark }}
    union
    select task_id
    from {{ ref('int_defects_phased') }}
    where updated_at > {{ watermark }}
),
{% endif %}

tasks as (
    select
        task_id,
        project_id,
        task_type,
        status,
        created_at,
        completed_at,
        estimated_complexity,
        actual_complexity,
        estimated_latency_ms,
        estimated_tokens,
        estimated_api_cost_usd,
        updated_at
    from {{ ref('stg_asp__task_metadata') }}
    {% if is_incremental() %}
    -- a semi-join: an index lookup per task for a few changed tasks, one hash join for many
    where task_id in (select changed_tasks.task_id from changed_tasks)
    {% endif %}
),

cost_totals as (
    select
        task_id,
        project_id,
        executions,
        cost_rows,
        actual_latency_ms,
        actual_tokens_in,
        actual_tokens_out,
        actual_tokens,
        actual_api_cost_usd,
        cost_from_prices_usd,
        unpriced_executions,
        tool_calls,
        retries,
        last_loaded_at
    from {{ ref('int_task_cost_totals') }}
    {% if is_incremental() %}
    where task_id in (select changed_tasks.task_id from changed_tasks)
    {% endif %}
),

defect_counts as (
    select
        task_id,
        {{ count_where("is_real") }} as defect_count,
        {{ count_where("not is_real") }} as false_positive_count,
        max(updated_at) as updated_at
    from {{ ref('int_defects_phased') }}
    {% if is_incremental() %}
    where task_id in (select changed_tasks.task_id from changed_tasks)
    {% endif %}
    group by task_id
),

task_ids as (
    select task_id from tasks
    union
    select task_id from cost_totals
    union
    select task_id from defect_counts
),

final as (
    select
        task_ids.task_id,
        coalesce(tasks.project_id, cost_totals.project_id) as project_id,
        tasks.task_type,
        tasks.status,
        tasks.estimated_complexity,
        tasks.actual_complexity,
        cost_totals.actual_latency_ms,
        cost_totals.actual_tokens_in,
        cost_totals.actual_tokens_out,
        cost_totals.actual_tokens,
        cost_totals.actual_api_cost_usd,
        cost_totals.tool_calls,
        cost_totals.retries,
        tasks.estimated_latency_ms,
        tasks.estimated_tokens,
        tasks.estimated_api_cost_usd,
        case
            when tasks.estimated_api_cost_usd <> 0 and cost_totals.actual_api_cost_usd <> 0
                then {{ ratio_pct(
                    'cost_totals.actual_api_cost_usd - tasks.estimated_api_cost_usd', 'tasks.estimated_api_cost_usd'
                ) }}
        end as cost_estimate_error_pct,
        case
            when tasks.estimated_api_cost_usd <> 0 and cost_totals.actual_api_cost_usd <> 0
                then {{ ratio('tasks.estimated_api_cost_usd', 'cost_totals.actual_api_cost_usd') }}
        end as cost_performance_index,
        coalesce(defect_counts.defect_count, 0) as defect_count,
        {{ ratio('coalesce(defect_counts.defect_count, 0)', 'tasks.actual_complexity') }} as defect_density,
        coalesce(defect_counts.false_positive_count, 0) as false_positive_count,
        coalesce(cost_totals.executions, 0) as executions,
        coalesce(cost_totals.cost_rows, 0) as cost_rows,
        coalesce(cost_totals.cost_from_prices_usd, 0) as cost_from_prices_usd,
        coalesce(cost_totals.unpriced_executions, 0) as unpriced_executions,
        tasks.created_at,
        tasks.completed_at,
        tasks.task_id is not null as has_task_metadata,
        greatest(tasks.updated_at, cost_totals.last_loaded_at, defect_counts.updated_at) as source_changed_at
    from task_ids
    left join tasks on tasks.task_id = task_ids.task_id
    left join cost_totals on cost_totals.task_id = task_ids.task_id
    left join defect_counts on defect_counts.task_id = task_ids.task_id
)

select * from final
