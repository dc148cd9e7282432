-- Least privilege for the three access roles (docs/operations.md, "Roles and logins").
--
--   asp_transformer  owns every object dbt creates in staging, intermediate and marts, whoever
--                    ran the build (dbt works as asp_transformer: profiles.yml `role:`, and
--                    `asp-telemetry build` makes it the session's role): any transformer login
--                    rebuilds, nobody else can alter or drop.
--   asp_writer       appends raw rows; updates only the task and defect columns that loading
--                    merges, and only the ledger rows (raw.loads) of its own loads; marks dead
--                    loads of anyone interrupted through raw.interrupt_abandoned_loads().
--   all three        connect to this database only: CONNECT is no longer granted to PUBLIC.

-- dbt's objects that earlier builds left owned by whoever ran them go to asp_transformer.
do $$
declare
    object record;
begin
    for object in
        select c.relkind, format('%I.%I', n.nspname, c.relname) as name
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('staging', 'intermediate', 'marts')
          and c.relkind in ('r', 'p', 'v', 'm')
          and c.relowner <> 'asp_transformer'::regrole
    loop
        execute format(
            'alter %s %s owner to asp_transformer',
            case object.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
            object.name
        );
    end loop;
end
$$;

-- Writers update what a load merges (README, "Identities"), nothing else: not a task's id or
-- its change markers, not what a defect is (type, phases, place, description).
revoke update on raw.task_metadata, raw.defect_log from asp_writer;
grant update (
    created_at, started_at, completed_at, status, project_id, task_type, task_description,
    requirements_text, semantic_units_json, estimated_complexity, actual_complexity,
    estimated_cost_vector_json, actual_cost_vector_json, defect_count, defect_density,
    components_affected, bootstrap_phase, human_reviewed, human_corrections_json, metadata
) on raw.task_metadata to asp_writer;
grant update (
    resolved_at, resolution_notes, root_cause, effort_to_fix_json, flagged_by_agent,
    validated_by_human, false_positive
) on raw.defect_log to asp_writer;

-- The ledger: every load is visible (a file seen again under any name is recognised), but a
-- writer opens loads in its own name and closes only those. The table's owner (who runs
-- migrations) is not subject to these policies.
alter table raw.loads add column loaded_by name not null default current_user;
comment on column raw.loads.loaded_by is 'The role that opened the load; a writer login may close only its own loads.';
alter table raw.loads enable row level security;
create policy loads_visible on raw.loads for select using (true);
create policy loads_opened_in_own_name on raw.loads for insert to asp_writer
    with check (loaded_by = current_user);
create policy loads_closed_by_their_writer on raw.loads for update to asp_writer
    using (loaded_by = current_user) with check (loaded_by = current_user);

-- A load whose process died (or whose connection was lost) leaves its row `running` without
-- the advisory lock a live load holds on it (0006); the next load, whoever opened the dead one,
-- marks it `interrupted`. A writer may not update other logins' rows, so this one statement runs
-- as the table's owner: no argument, nothing but `running` rows whose lock nobody holds, a fixed
-- status and message. The lock's first key is ledger.LEDGER_LOCK_CLASS ("asp_" in ASCII), the
-- second the load id modulo 2^31 - 1.
create function raw.interrupt_abandoned_loads() returns integer
language sql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
    with interrupted as (
        update raw.loads as l
        set status = 'interrupted',
            error = 'the process or connection of this load ended before it finished: load the input again'
                || ' (what it committed stays, and identities make loading it again safe)',
            finished_at = coalesce(l.finished_at, clock_timestamp())
        where l.status = 'running'
          and not exists (
              select from pg_locks as k
              where k.locktype = 'advisory'
                and k.granted
                and k.database = (select d.oid from pg_database as d where d.datname = current_database())
                and k.classid::bigint = 1634955359
                and k.objid::bigint = l.load_id % 2147483647
                and k.objsubid = 2
          )
        returning 1
    )
    select count(*)::integer from interrupted
$$;
comment on function raw.interrupt_abandoned_loads() is
    'Marks interrupted the running loads whose advisory lock no session holds (their process died); returns how many. Runs as the owner of raw.loads, for writers who may close only their own loads.';
-- As the owner of raw.loads (exempt from its row-level security), whoever applies this.
do $$
begin
    execute format('alter function raw.interrupt_abandoned_loads() owner to %I',
                   (select tableowner from pg_tables where schemaname = 'raw' and tablename = 'loads'));
end
$$;
revoke all on function raw.interrupt_abandoned_loads() from public;
grant execute on function raw.interrupt_abandoned_loads() to asp_writer;

-- Nobody but the owner creates objects in public (PostgreSQL 15 and later do this already).
do $$
begin
    if exists (select from pg_namespace where nspname = 'public') then
        revoke create on schema public from public;
    end if;
end
$$;

-- Who may connect to this database. Database privileges are not copied by CREATE DATABASE
-- ... TEMPLATE, so `asp-telemetry db upgrade` calls this again on every run.
create function asp_meta.restrict_database_access() returns void
language plpgsql as $$
begin
    execute format('revoke all on database %I from public', current_database());
    execute format('grant connect, temporary on database %I to asp_writer, asp_transformer', current_database());
    execute format('grant connect on database %I to asp_reader', current_database());
end
$$;
revoke all on function asp_meta.restrict_database_access() from public;
comment on function asp_meta.restrict_database_access() is
    'CONNECT on this database for the three access roles only (temporary tables for the writer and the transformer).';
select asp_meta.restrict_database_access();
