{#
    The sources on Spark (on-run-start, target spark only; docs/spark.md). The lake
    (ASP_LAKE, default $ASP_HOME/lake; the spark contract) holds one Parquet dataset per raw
    table, append-only, partitioned by record_date. For each, database raw gets

      raw.lake_<table>   an external Parquet table over <lake>/<table>/ (its partitions
                         found again at every build: `alter table ... recover partitions`)
      raw.<table>        a view that enforces the identities PostgreSQL enforces with keys,
                         so that sources, source tests and staging read the same rows on
                         both engines:
        agent_cost_vector, bootstrap_metrics: one row per record_key, the first loaded
          (PostgreSQL's `on conflict (record_key) do nothing`); id is a 64-bit hash of
          record_key (the lake has no serial ids), execution_date the UTC date of timestamp;
          of the bootstrap snapshots of one period (rows whose metadata source is
          'asp-telemetry snapshot', asp_telemetry.snapshot.SOURCE) only the rows of the last
          recorded remain, as PostgreSQL's snapshot deletes the rows of the earlier ones
          (asp_telemetry.lake.snapshot). The last is the latest load_id of the period in
          raw.lake_bootstrap_snapshots (one row per snapshot taken, rows or none: a snapshot
          that measured nothing hides the earlier rows too) or among its snapshot rows;
        task_metadata, defect_log: one row per task_id / defect_id, its versions merged in
          load order (loaded_at, load_id, record_position) exactly as
          asp_telemetry.loading.tables merges them: a column a version leaves out (NULL on
          the lake) keeps the value before it, the defaults apply to the first version only,
          a task keeps its earliest created_at and started_at, its latest completed_at, and
          a status that never moves back; what a defect is stays as first recorded, its
          resolution and verdicts take what later versions bring. updated_at is the last
          version's loaded_at.
    and database pricing gets the price schedule the price step wrote (asp_telemetry.lake.session_prices).
    raw.lake_bootstrap_snapshots (the snapshots taken) gets no view: raw.bootstrap_metrics reads it.

    The lake's location comes from the environment (asp-telemetry sets ASP_LAKE); it is
    checked before it reaches SQL: a location holding a quote or a backslash is refused.
#}

{% macro lake_location() -%}
    {%- set location = env_var('ASP_LAKE', env_var('ASP_HOME', '.asp') ~ '/lake') | trim -%}
    {%- if not location or "'" in location or '\\' in location or '\n' in location -%}
        {{ exceptions.raise_compiler_error(
            "ASP_LAKE: expected a directory or an s3a:// / abfss:// URL without quotes or backslashes, got "
            ~ location | tojson) }}
    {%- endif -%}
    {{ return(location.rstrip('/')) }}
{%- endmacro %}

{#- The lake's datasets: their columns and Spark types (the contract's mapping of the
    PostgreSQL raw columns), lineage columns included, partition column excluded. -#}
{% macro lake_datasets() -%}
    {%- set lineage = [('loaded_at', 'timestamp'), ('load_id', 'string'), ('record_position', 'bigint')] -%}
    {{ return({
        'agent_cost_vector': {'schema': 'raw', 'partitioned': true, 'columns': [
            ('timestamp', 'timestamp'), ('task_id', 'string'), ('subtask_id', 'string'),
            ('project_id', 'string'), ('agent_role', 'string'), ('agent_version', 'string'),
            ('agent_iteration', 'int'), ('metric_type', 'string'), ('metric_value', 'decimal(24,12)'),
            ('metric_unit', 'string'), ('llm_model', 'string'), ('llm_provider', 'string'),
            ('metadata', 'string'), ('record_key', 'string')] + lineage},
        'task_metadata': {'schema': 'raw', 'partitioned': true, 'columns': [
            ('task_id', 'string'), ('created_at', 'timestamp'), ('started_at', 'timestamp'),
            ('completed_at', 'timestamp'), ('project_id', 'string'), ('task_type', 'string'),
            ('task_description', 'string'), ('requirements_text', 'string'),
            ('semantic_units_json', 'string'), ('estimated_complexity', 'int'),
            ('actual_complexity', 'int'), ('estimated_cost_vector_json', 'string'),
            ('actual_cost_vector_json', 'string'), ('defect_count', 'int'),
            ('defect_density', 'decimal(5,3)'), ('bootstrap_phase', 'string'),
            ('human_reviewed', 'boolean'), ('human_corrections_json', 'string'), ('status', 'string'),
            ('metadata', 'string')] + lineage},
        'defect_log': {'schema': 'raw', 'partitioned': true, 'columns': [
            ('defect_id', 'string'), ('created_at', 'timestamp'), ('resolved_at', 'timestamp'),
            ('task_id', 'string'), ('project_id', 'string'), ('defect_type', 'string'),
            ('severity', 'string'), ('phase_injected', 'string'), ('phase_removed', 'string'),
            ('component_path', 'string'), ('function_name', 'string'), ('line_number', 'int'),
            ('effort_to_fix_json', 'string'), ('description', 'string'), ('root_cause', 'string'),
            ('resolution_notes', 'string'), ('flagged_by_agent', 'boolean'),
            ('validated_by_human', 'boolean'), ('false_positive', 'boolean'),
            ('metadata', 'string')] + lineage},
        'bootstrap_snapshots': {'schema': 'raw', 'partitioned': true, 'view': false, 'columns': [
            ('measurement_period_start', 'timestamp'), ('measurement_period_end', 'timestamp'),
            ('measured_at', 'timestamp'), ('load_id', 'string')]},
        'bootstrap_metrics': {'schema': 'raw', 'partitioned': true, 'columns': [
            ('measured_at', 'timestamp'), ('measurement_period_start', 'timestamp'),
            ('measurement_period_end', 'timestamp'), ('capability_name', 'string'),
            ('capability_mode', 'string'), ('tasks_completed', 'int'),
            ('tasks_required_for_graduation', 'int'), ('primary_metric_name', 'string'),
            ('primary_metric_value', 'decimal(10,4)'), ('primary_metric_target', 'decimal(10,4)'),
            ('secondary_metrics_json', 'string'), ('graduation_criteria_met', 'boolean'),
            ('graduation_notes', 'string'), ('metadata', 'string'), ('record_key', 'string')] + lineage},
        'model_prices': {'schema': 'pricing', 'partitioned': false, 'columns': [
            ('llm_provider', 'string'), ('llm_model', 'string'), ('priority', 'int'),
            ('effective_from', 'timestamp'), ('daily_from', 'string'), ('daily_to', 'string'),
            ('input_tokens_above', 'bigint'), ('input_per_mtok', 'decimal(38,12)'),
            ('output_per_mtok', 'decimal(38,12)'), ('cache_read_per_mtok', 'decimal(38,12)'),
            ('cache_write_per_mtok', 'decimal(38,12)'), ('requests_per_k', 'decimal(38,12)'),
            ('price_provider', 'string'), ('price_model', 'string'), ('source', 'string'),
            ('resolved_at', 'timestamp')]},
        'unpriced_models': {'schema': 'pricing', 'partitioned': false, 'columns': [
            ('llm_provider', 'string'), ('llm_model', 'string'), ('reason', 'string'),
            ('resolved_at', 'timestamp')]},
    }) }}
{%- endmacro %}

{% macro lake_sources() -%}
    {%- if execute and target.type == 'spark' -%}
        {%- set lake = lake_location() -%}
        {%- set datasets = lake_datasets() -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- do run_query('create database if not exists pricing') -%}
        {%- for name, dataset in datasets.items() -%}
            {%- set table = dataset.schema ~ '.lake_' ~ name -%}
            {%- set columns = [] -%}
            {%- for column, type in dataset.columns -%}
                {%- do columns.append('`' ~ column ~ '` ' ~ type) -%}
            {%- endfor -%}
            {%- if dataset.partitioned -%}
                {%- do columns.append('record_date date') -%}
            {%- endif -%}
            {#- dropped and made again: an external table's drop leaves its files, and its
                definition follows this macro's -#}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- set ddl -%}
                create table {{ table }} ({{ columns | join(', ') }})
                using parquet
                {% if dataset.partitioned %}partitioned by (record_date){% endif %}
                location '{{ lake }}/{{ name }}'
            {%- endset -%}
            {%- do run_query(ddl) -%}
            {#- the partitions written since the last build (a table made anew has nothing
                cached: no `refresh table` needed) -#}
            {%- if dataset.partitioned -%}
                {%- do run_query('alter table ' ~ table ~ ' recover partitions') -%}
            {%- endif -%}
            {%- if dataset.get('view', true) -%}
                {%- do run_query('create or replace view ' ~ dataset.schema ~ '.' ~ name ~ ' as ' ~ lake_view(name, table, dataset.columns)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- The view over one lake table (see the top of this file). -#}
{% macro lake_view(name, table, columns) -%}
    {%- set order = 'loaded_at, load_id, record_position' -%}
    {%- set names = [] -%}
    {%- for column, type in columns if column not in ('load_id', 'record_position') -%}
        {%- do names.append(column) -%}
    {%- endfor -%}
    {%- if name == 'agent_cost_vector' -%}
        select
            xxhash64(record_key) as id,
            to_date(`timestamp`) as execution_date,
            {{ names | map('replace', 'timestamp', '`timestamp`') | join(', ') }}
        from (
            select *, row_number() over (partition by record_key order by {{ order }}) as version
            from {{ table }}
        ) as versions
        where version = 1
    {%- elif name == 'bootstrap_metrics' -%}
        {#- a snapshot's rows (metadata source 'asp-telemetry snapshot': asp_telemetry.snapshot.SOURCE)
            hide those of the snapshots of the same period recorded before it, and so does a
            snapshot without rows through its row in lake_bootstrap_snapshots -#}
        {%- set from_snapshot = "coalesce(get_json_object(metadata, '$.source') = 'asp-telemetry snapshot', false)" -%}
        select
            xxhash64(record_key) as id,
            {{ names | join(', ') }}
        from (
            select
                versions.*,
                greatest(
                    max(case when {{ from_snapshot }} then versions.load_id end) over (
                        partition by versions.measurement_period_start, versions.measurement_period_end
                    ),
                    snapshots_taken.last_load_id
                ) as last_snapshot
            from (
                select *, row_number() over (partition by record_key order by {{ order }}) as version
                from {{ table }}
            ) as versions
            left join (
                select measurement_period_start, measurement_period_end, max(load_id) as last_load_id
                from raw.lake_bootstrap_snapshots
                group by measurement_period_start, measurement_period_end
            ) as snapshots_taken
                on versions.measurement_period_start = snapshots_taken.measurement_period_start
                and versions.measurement_period_end = snapshots_taken.measurement_period_end
            where versions.version = 1
        ) as snapshots
        where not ({{ from_snapshot }} and load_id < last_snapshot)
    {%- elif name in ('task_metadata', 'defect_log') -%}
        {%- set key = 'task_id' if name == 'task_metadata' else 'defect_id' -%}
        {%- if name == 'task_metadata' -%}
            {%- set defaults = {'defect_count': '0', 'human_reviewed': 'false'} -%}
            {%- set first_only = [] -%}
        {%- else -%}
            {%- set defaults = {'flagged_by_agent': 'false', 'validated_by_human': 'false', 'false_positive': 'false'} -%}
            {%- set first_only = ['task_id', 'project_id', 'defect_type', 'severity', 'phase_injected',
                                  'phase_removed', 'component_path', 'function_name', 'line_number',
                                  'description', 'metadata'] -%}
        {%- endif -%}
        select
            {{ key }},
        {%- for column in names if column not in (key, 'loaded_at') %}
            {%- if column == 'created_at' %}
            min(coalesce(created_at, case when version = 1 then loaded_at end)) as created_at,
            {%- elif name == 'task_metadata' and column == 'started_at' %}
            min(started_at) as started_at,
            {%- elif name == 'task_metadata' and column == 'completed_at' %}
            max(completed_at) as completed_at,
            {%- elif name == 'task_metadata' and column == 'status' %}
            coalesce(
                max_by(status, case when status is not null then status_rank * 1000000000 + version end),
                'pending'
            ) as status,
            {%- elif column in first_only %}
            max_by({{ column }}, case when version = 1 then 1 end) as {{ column }},
            {%- elif column in defaults %}
            coalesce(max_by({{ column }}, case when {{ column }} is not null then version end), {{ defaults[column] }})
                as {{ column }},
            {%- else %}
            max_by({{ column }}, case when {{ column }} is not null then version end) as {{ column }},
            {%- endif %}
        {%- endfor %}
            min(loaded_at) as loaded_at,
            max(loaded_at) as updated_at
        from (
            select
                *,
                row_number() over (partition by {{ key }} order by {{ order }}) as version
                {%- if name == 'task_metadata' %},
                case status when 'pending' then 0 when 'in_progress' then 1 else 2 end as status_rank
                {%- endif %}
            from {{ table }}
        ) as versions
        group by {{ key }}
    {%- else -%}
        select {{ names | join(', ') }} from {{ table }}
    {%- endif -%}
{%- endmacro %}
