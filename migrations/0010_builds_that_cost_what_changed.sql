-- A task's change marker (updated_at, migration 0005) moves only when something the marts
-- read changes. The write-back (write_back.py) fills actual_cost_vector_json, defect_count and
-- defect_density from marts.fct_task_costs; stamping those updates made every incremental
-- build after a write-back recompute every task it wrote. No model reads those columns (they
-- are derived from the marts), so an update that changes only them keeps the old marker.
-- Defects have no derived columns: every update of a defect still moves its marker.

create function raw.stamp_task_updated_at() returns trigger
language plpgsql as $$
begin
    if (to_jsonb(new) - array['actual_cost_vector_json', 'defect_count', 'defect_density', 'updated_at'])
        is distinct from
       (to_jsonb(old) - array['actual_cost_vector_json', 'defect_count', 'defect_density', 'updated_at']) then
        new.updated_at := now();
    else
        new.updated_at := old.updated_at;
    end if;
    return new;
end
$$;

drop trigger trg_task_metadata_updated_at on raw.task_metadata;
create trigger trg_task_metadata_updated_at before update on raw.task_metadata
    for each row execute function raw.stamp_task_updated_at();

comment on function raw.stamp_task_updated_at() is
    'Moves raw.task_metadata.updated_at on updates of the columns the marts read; the write-back''s derived columns alone leave it.';

-- What changed since the last build, so that a scheduled build selects only what is downstream
-- of a changed source and is skipped when nothing changed (build_plan.py). Every statement that
-- changes rows of a raw table, whoever runs it (a load, the SDK, a hand-made fix, the
-- specification's INSERTs), appends one row here; a build removes the rows it saw once it has
-- succeeded, so a change committed while a build ran is still there for the next one.
create table raw.table_changes (
    change_id bigserial primary key,
    table_name text not null,
    changed_at timestamptz not null default now()
);
comment on table raw.table_changes is
    'One row per statement that changed rows of a raw table since the last build saw it (not part of the specification).';

-- The builds that selected by change: the project they built (a digest of models, macros,
-- seeds and dbt_project.yml), so that a changed project is built whole.
create table raw.builds (
    build_id bigserial primary key,
    project_digest text not null,
    started_at timestamptz not null,
    finished_at timestamptz not null default now(),
    selection text not null
);
comment on table raw.builds is
    'Successful builds planned by change (asp-telemetry run, the scheduled pipeline): what they selected and the project they built.';

-- Appends a change row when the statement changed a row. An update of a task counts only when
-- its updated_at moved (the write-back's derived columns alone do not move it). Runs as the
-- table owner, so writers need no grant on raw.table_changes.
create function raw.note_table_change() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    changed boolean;
begin
    if tg_op = 'TRUNCATE' then
        changed := true;
    elsif tg_op = 'DELETE' then
        select exists (select 1 from removed_rows) into changed;
    elsif tg_op = 'UPDATE' and tg_table_name = 'task_metadata' then
        select exists (select 1 from changed_rows where updated_at = now()) into changed;
    else
        select exists (select 1 from changed_rows) into changed;
    end if;
    if changed then
        insert into raw.table_changes (table_name) values (tg_table_name);
    end if;
    return null;
end
$$;
revoke all on function raw.note_table_change() from public;

do $$
declare
    raw_table text;
begin
    foreach raw_table in array array['agent_cost_vector', 'task_metadata', 'defect_log', 'bootstrap_metrics'] loop
        execute format('create trigger trg_%s_inserted after insert on raw.%I referencing new table as changed_rows'
                       ' for each statement execute function raw.note_table_change()', raw_table, raw_table);
        execute format('create trigger trg_%s_updated after update on raw.%I referencing new table as changed_rows'
                       ' for each statement execute function raw.note_table_change()', raw_table, raw_table);
        execute format('create trigger trg_%s_deleted after delete on raw.%I referencing old table as removed_rows'
                       ' for each statement execute function raw.note_table_change()', raw_table, raw_table);
        execute format('create trigger trg_%s_truncated after truncate on raw.%I'
                       ' for each statement execute function raw.note_table_change()', raw_table, raw_table);
        execute format('insert into raw.table_changes (table_name) values (%L)', raw_table);
    end loop;
end
$$;

grant select, delete on raw.table_changes to asp_transformer;
grant select, insert on raw.builds to asp_transformer;
grant usage on sequence raw.builds_build_id_seq to asp_transformer;
-- (0002's default privileges gave writers select and insert on these: they need neither.)
revoke all on raw.table_changes, raw.builds from asp_writer;
