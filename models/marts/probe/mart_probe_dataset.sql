{{ config(indexes=[{'columns': ['created_at']}]) }}

{#-
    PROBE-AI's historical data (the specification's Query 1, every row rather than the last
    30): completed tasks with estimated and actual complexity and at least one cost row.
    proxy is the estimated complexity; the targets are the task's actual totals.
-#}

with

tasks as (
    select * from {{ ref('fct_task_costs') }}
),

final as (
    select
        task_id,
        estimated_complexity as proxy,
        actual_complexity,
        actual_latency_ms,
        actual_tokens,
        actual_api_cost_usd,
        project_id,
        task_type,
        created_at,
        completed_at
    from tasks
    where
        status = 'completed'
        and estimated_complexity is not null
        and actual_complexity is not null
        and cost_rows > 0
)

select * from final
