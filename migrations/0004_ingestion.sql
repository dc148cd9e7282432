-- Ingestion (asp-telemetry load): record identities enforced by the database, the ledger of
-- loads, and the rejected records. Additive only: the specification's INSERTs and queries run
-- unchanged (the new columns are nullable and the spec's INSERTs leave them NULL; NULLs never
-- collide in a unique index).
--
-- Identities (README, "Identities"):
--   cost row       record_key = a hash of the execution (task_id, subtask_id, agent_role,
--                  agent_iteration, metadata.execution_id) and metric_type, plus, for metrics
--                  that may repeat in an execution or rows without an execution_id, the
--                  row's own content (timestamp as given, value, unit, model, metadata...).
--   bootstrap row  record_key = a hash of capability, metric, period and measured_at as given,
--                  plus the row's content when measured_at is not given.
--   task, defect   their primary keys (task_id, defect_id).
-- The loader computes record_key; the unique indexes make two concurrent loads of the same
-- records insert them once.

alter table raw.agent_cost_vector add column record_key uuid;
create unique index uq_acv_record_key on raw.agent_cost_vector (record_key);
comment on column raw.agent_cost_vector.record_key is
    'Identity of the row as computed by the loader (README, Identities); NULL for rows inserted directly.';

alter table raw.bootstrap_metrics add column record_key uuid;
create unique index uq_bootstrap_record_key on raw.bootstrap_metrics (record_key);
comment on column raw.bootstrap_metrics.record_key is
    'Identity of the row as computed by the loader (README, Identities); NULL for rows inserted directly.';

-- One row per file (or record stream) loaded: what it was, by content, and what became of it.
create table raw.loads (
    load_id bigserial primary key,
    source text not null,
    content_sha256 text,
    size_bytes bigint,
    format text,
    table_name text,
    strict boolean not null default false,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    status text not null default 'running',
    records_read bigint,
    loaded bigint,
    updated bigint,
    duplicates bigint,
    rejected bigint,
    constraint chk_load_status check (status in ('running', 'complete', 'rolled_back', 'failed'))
);
create index idx_loads_content_sha256 on raw.loads (content_sha256);

comment on table raw.loads is
    'Ledger of asp-telemetry loads: one row per file or record stream, with its SHA-256 so that a file seen twice under any name is recognised.';
comment on column raw.loads.content_sha256 is 'SHA-256 of the bytes as read (the compressed bytes for a .gz file); NULL for record streams.';
comment on column raw.loads.status is 'running (or interrupted), complete, rolled_back (--strict and a reject), failed (unreadable input).';

-- Records that failed validation or the database's own checks; the rest of their file loaded.
create table raw.rejected_records (
    id bigserial primary key,
    load_id bigint,  -- raw.loads.load_id (no foreign key: raw has none unless --with-foreign-keys)
    rejected_at timestamptz not null default now(),
    source text not null,
    position text not null,
    line_number bigint,
    record_type text,
    reason text not null,
    original_text text not null,
    reject_key uuid not null
);
create unique index uq_rejected_reject_key on raw.rejected_records (reject_key);
create index idx_rejected_load_id on raw.rejected_records (load_id);

comment on table raw.rejected_records is
    'Input the loader refused, with where it was, why, and its original text; loading the same file again does not repeat a reject.';
comment on column raw.rejected_records.position is 'Where in the source: "line 12", "line 3, span 5f2a...", "data[4]", "row 7".';
comment on column raw.rejected_records.reject_key is 'Identity of the reject: the file''s content hash (or the source name) and the position.';

-- asp_writer got select and insert on these through 0002's default privileges; the loader
-- also closes its ledger rows.
grant update (content_sha256, size_bytes, format, finished_at, status, records_read, loaded, updated, duplicates, rejected)
    on raw.loads to asp_writer;
