{#
    Post-hook of every model (dbt_project.yml), acting on the incremental ones only, which are
    the big ones: `analyze` the table when this run built it whole
    (a first build or --full-refresh), so that the models downstream in the same build are
    planned with statistics of millions of fresh rows. An incremental run adds a small share
    of rows and is left to autovacuum's analyze (which runs once a tenth of a table changed);
    the planner reads the true end of an indexed range (newest loaded_at, started_at) from the
    index, so new values beyond the statistics are still estimated well.

    In a post-hook, is_incremental() still answers for the run in progress: the relation
    cache learns of a table the run created only when the materialization returns.
#}
{% macro analyze_when_rebuilt() -%}
    {%- if target.type == 'postgres' and config.get('materialized') == 'incremental' and not is_incremental() -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
