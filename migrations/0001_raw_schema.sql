-- The four raw tables of the schema specification (000_70d822c0709121cd.txt), exactly,
-- in schema raw. One fix (metrics.md, "Errors in the specification" 1): execution_date is
-- the UTC date, because timestamp::date depends on the session time zone and PostgreSQL
-- rejects it in a generated column.

create schema if not exists raw;

-- Schema 1: agent cost vector ------------------------------------------------------------
create table raw.agent_cost_vector (
    id bigserial primary key,

    timestamp timestamptz not null default now(),
    execution_date date generated always as ((timestamp at time zone 'UTC')::date) stored,

    task_id varchar(100) not null,
    subtask_id varchar(100),
    project_id varchar(100),

    agent_role varchar(50) not null,
    agent_version varchar(20),
    agent_iteration int default 1,

    metric_type varchar(50) not null,
    metric_value numeric(15, 4) not null,
    metric_unit varchar(20) not null,

    llm_model varchar(100),
    llm_provider varchar(50),

    metadata jsonb,

    constraint chk_metric_value_positive check (metric_value >= 0)
);

create index idx_acv_task_id on raw.agent_cost_vector (task_id);
create index idx_acv_timestamp on raw.agent_cost_vector (timestamp desc);
create index idx_acv_agent_role on raw.agent_cost_vector (agent_role);
create index idx_acv_metric_type on raw.agent_cost_vector (metric_type);
create index idx_acv_execution_date on raw.agent_cost_vector (execution_date desc);
create index idx_acv_estimation on raw.agent_cost_vector (agent_role, metric_type, timestamp desc);
create index idx_acv_metadata_gin on raw.agent_cost_vector using gin (metadata);

-- Schema 2: defect recording log ---------------------------------------------------------
create table raw.defect_log (
    defect_id varchar(50) primary key,

    created_at timestamptz not null default now(),
    resolved_at timestamptz,

    task_id varchar(100) not null,
    project_id varchar(100),

    defect_type varchar(50) not null,
    severity varchar(20),

    phase_injected varchar(50) not null,
    phase_removed varchar(50) not null,

    component_path text,
    function_name varchar(200),
    line_number int,

    effort_to_fix_json jsonb,

    description text not null,
    root_cause text,
    resolution_notes text,

    flagged_by_agent boolean default false,
    validated_by_human boolean default false,
    false_positive boolean default false,

    metadata jsonb,

    constraint chk_phase_different check (phase_injected != phase_removed),
    constraint chk_resolved_after_created check (resolved_at is null or resolved_at >= created_at)
);

create index idx_defect_task_id on raw.defect_log (task_id);
create index idx_defect_type on raw.defect_log (defect_type);
create index idx_defect_phase_injected on raw.defect_log (phase_injected);
create index idx_defect_phase_removed on raw.defect_log (phase_removed);
create index idx_defect_component on raw.defect_log (component_path);
create index idx_defect_created_at on raw.defect_log (created_at desc);
create index idx_defect_bootstrap on raw.defect_log (flagged_by_agent, validated_by_human, false_positive);
create index idx_defect_effort_gin on raw.defect_log using gin (effort_to_fix_json);
create index idx_defect_metadata_gin on raw.defect_log using gin (metadata);

-- Schema 3: task metadata ----------------------------------------------------------------
create table raw.task_metadata (
    task_id varchar(100) primary key,

    created_at timestamptz not null default now(),
    started_at timestamptz,
    completed_at timestamptz,

    project_id varchar(100),
    task_type varchar(50),
    task_description text,

    requirements_text text,
    semantic_units_json jsonb,

    estimated_complexity int,
    actual_complexity int,

    estimated_cost_vector_json jsonb,
    actual_cost_vector_json jsonb,

    defect_count int default 0,
    defect_density numeric(5, 3),

    components_affected text[],

    bootstrap_phase varchar(20),
    human_reviewed boolean default false,
    human_corrections_json jsonb,

    status varchar(20) default 'pending',

    metadata jsonb,

    constraint chk_status_valid check (status in ('pending', 'in_progress', 'completed', 'failed'))
);

create index idx_task_project_id on raw.task_metadata (project_id);
create index idx_task_type on raw.task_metadata (task_type);
create index idx_task_created_at on raw.task_metadata (created_at desc);
create index idx_task_status on raw.task_metadata (status);
create index idx_task_bootstrap_phase on raw.task_metadata (bootstrap_phase);
create index idx_task_semantic_units_gin on raw.task_metadata using gin (semantic_units_json);
create index idx_task_components_gin on raw.task_metadata using gin (components_affected);

-- Schema 4: bootstrap metrics ------------------------------------------------------------
create table raw.bootstrap_metrics (
    id bigserial primary key,

    measured_at timestamptz not null default now(),
    measurement_period_start timestamptz not null,
    measurement_period_end timestamptz not null,

    capability_name varchar(50) not null,
    capability_mode varchar(20) not null,

    tasks_completed int not null,
    tasks_required_for_graduation int not null,

    primary_metric_name varchar(50) not null,
    primary_metric_value numeric(10, 4) not null,
    primary_metric_target numeric(10, 4) not null,

    secondary_metrics_json jsonb,

    graduation_criteria_met boolean default false,
    graduation_notes text,

    metadata jsonb,

    constraint chk_tasks_positive check (tasks_completed >= 0 and tasks_required_for_graduation > 0),
    constraint chk_mode_valid check (capability_mode in ('Learning', 'Shadow', 'Autonomous'))
);

create index idx_bootstrap_capability on raw.bootstrap_metrics (capability_name);
create index idx_bootstrap_measured_at on raw.bootstrap_metrics (measured_at desc);
create index idx_bootstrap_mode on raw.bootstrap_metrics (capability_mode);
create index idx_bootstrap_graduation on raw.bootstrap_metrics (graduation_criteria_met);
create index idx_bootstrap_dashboard on raw.bootstrap_metrics (capability_name, measured_at desc);

comment on schema raw is 'Raw telemetry as the agents report it: the four tables of the schema specification.';
comment on table raw.agent_cost_vector is 'One row per metric of one agent execution (long format): latency, tokens, cost, tool calls, retries, memory.';
comment on table raw.defect_log is 'PSP defect recording log: one row per defect with the phase that injected it and the phase that removed it.';
comment on table raw.task_metadata is 'One row per task: complexity, PROBE-AI estimate, status and derived actuals.';
comment on table raw.bootstrap_metrics is 'Snapshots of each bootstrap-learning capability against its graduation target.';
