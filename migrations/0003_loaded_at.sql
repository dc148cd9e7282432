-- When each raw row arrived. Not in the specification (additive, with a default, so its
-- INSERTs and queries still run verbatim). dbt's incremental models pick up the cost rows
-- loaded since their last run by this column; a BRIN index keeps that cheap because rows
-- arrive in loaded_at order.

alter table raw.agent_cost_vector add column loaded_at timestamptz not null default now();
alter table raw.defect_log add column loaded_at timestamptz not null default now();
alter table raw.task_metadata add column loaded_at timestamptz not null default now();
alter table raw.bootstrap_metrics add column loaded_at timestamptz not null default now();

create index idx_acv_loaded_at on raw.agent_cost_vector using brin (loaded_at);

comment on column raw.agent_cost_vector.loaded_at is 'When the row was loaded (not part of the specification).';
comment on column raw.defect_log.loaded_at is 'When the row was first loaded (not part of the specification).';
comment on column raw.task_metadata.loaded_at is 'When the row was first loaded (not part of the specification).';
comment on column raw.bootstrap_metrics.loaded_at is 'When the row was loaded (not part of the specification).';
