-- When each task and defect row last changed. Tasks complete and defects get resolved after
-- they were first loaded (the loader merges them, write-back fills a task's actuals), and
-- loaded_at only tells when a row first arrived: dbt's incremental fct_task_costs recomputes
-- the tasks whose row, cost rows or defects changed since its last run, by this column.
-- Additive, with a default, so the specification's INSERTs and queries still run verbatim; a
-- trigger stamps every update, whoever makes it (loader, write-back, a hand-made fix).

alter table raw.task_metadata add column updated_at timestamptz not null default now();
alter table raw.defect_log add column updated_at timestamptz not null default now();

create index idx_task_updated_at on raw.task_metadata (updated_at);
create index idx_defect_updated_at on raw.defect_log (updated_at);

create function raw.stamp_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end
$$;

create trigger trg_task_metadata_updated_at before update on raw.task_metadata
    for each row execute function raw.stamp_updated_at();
create trigger trg_defect_log_updated_at before update on raw.defect_log
    for each row execute function raw.stamp_updated_at();

comment on column raw.task_metadata.updated_at is 'When the row was inserted or last updated (not part of the specification).';
comment on column raw.defect_log.updated_at is 'When the row was inserted or last updated (not part of the specification).';
