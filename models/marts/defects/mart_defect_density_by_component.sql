{#-
    The specification's Query 2 per component, corrected: only real defects count, every
    component is listed, and error_prone (at least var error_prone_min_defects real defects,
    default 3) replaces its HAVING. avg_complexity averages the owning task's
    actual_complexity over the component's real defect rows.
-#}

with

defects as (
    select
        component_path,
        task_id,
        is_real
    from {{ ref('int_defects_phased') }}
    where component_path is not null
),

tasks as (
    select
        task_id,
        actual_complexity
    from {{ ref('stg_asp__task_metadata') }}
),

component_counts as (
    select
        defects.component_path,
        {{ count_where("defects.is_real") }} as defect_count,
        {{ trimmed(agg_where('avg', 'tasks.actual_complexity', "defects.is_real")) }} as avg_complexity,
        {{ count_where("not defects.is_real") }} as false_positive_count
    from defects
    left join tasks on tasks.task_id = defects.task_id
    group by defects.component_path
),

final as (
    select
        component_path,
        defect_count,
        avg_complexity,
        {{ ratio('defect_count', 'avg_complexity') }} as defect_density,
        defect_count >= {{ positive_integer_var('error_prone_min_defects') }} as error_prone,
        false_positive_count
    from component_counts
)

select * from final
