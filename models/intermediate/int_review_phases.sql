{{ config(materialized='view') }}

{#-
    The review phases: every agent_roles phase of class appraisal (metrics.md, "Review
    effectiveness"), with its order. The one place that says which phases are reviews.
-#}

with

phases as (
    select * from {{ ref('agent_roles') }}
),

final as (
    select
        agent_role as review_phase,
        phase_order
    from phases
    where phase_class = 'appraisal'
)

select * from final
