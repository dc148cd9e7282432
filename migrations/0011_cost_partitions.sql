-- raw.agent_cost_vector in 7-day partitions by "timestamp" (the specification's TimescaleDB
-- section, with PostgreSQL's own declarative partitioning: docs/partitions.md).
--
--   * Partitions are weeks starting Monday 00:00 UTC, named agent_cost_vector_YYYYMMDD.
--     raw.ensure_cost_partitions(first, last) makes those a range of rows needs; the loader
--     calls it before each batch and the retention flow keeps four weeks ahead. A row of a
--     week without a partition (inserted directly, not by the loader) waits in
--     agent_cost_vector_default until its partition is made, and moves into it then; a row
--     more than ten years back or more than a year ahead stays there (`asp-telemetry db
--     status` reports them).
--   * The primary key must contain the partition key: (id, "timestamp"). The loader's
--     identity of a cost row (record_key) ignores the timestamp for the metrics reported once
--     per execution, so a unique index on the partitioned table cannot enforce it; the keys
--     live in raw.cost_record_keys, one row per loaded cost row, whose primary key does.
--   * Existing rows are copied, in this one transaction; the indexes, privileges and the views
--     on the table (dbt's staging view, a team's own) are made again on the new one.

create table raw.cost_record_keys (
    record_key uuid primary key,
    "timestamp" timestamptz not null
);
create index idx_cost_record_keys_timestamp on raw.cost_record_keys ("timestamp");
comment on table raw.cost_record_keys is
    'The identity (record_key) of every cost row the loader appended, and its timestamp: a cost row is loaded once across all partitions. Retention removes the keys of the rows it drops.';
insert into raw.cost_record_keys (record_key, "timestamp")
select record_key, "timestamp" from raw.agent_cost_vector where record_key is not null;

-- What stands on the table and must stand on the new one: its indexes but the two the new key
-- replaces (the specification's, 0003's, 0008's and any a team added), its privileges, and the
-- views that read it (dbt's staging view, any a team made), made again with their definition,
-- owner and privileges, as 0008 does.
create temporary table acv_indexes on commit drop as
select indexname, indexdef
from pg_indexes
where schemaname = 'raw' and tablename = 'agent_cost_vector'
  and indexname not in ('agent_cost_vector_pkey', 'uq_acv_record_key');

create temporary table acv_dependent_views on commit drop as
select distinct
    v.oid::regclass::text as view_name,
    pg_get_viewdef(v.oid) as definition,
    pg_get_userbyid(v.relowner) as owner_name,
    v.relacl
from pg_depend as d
join pg_rewrite as r on r.oid = d.objid
join pg_class as v on v.oid = r.ev_class
where d.classid = 'pg_rewrite'::regclass
  and d.refobjid = 'raw.agent_cost_vector'::regclass
  and v.oid <> 'raw.agent_cost_vector'::regclass
  and v.relkind = 'v';

create temporary table acv_privileges on commit drop as
select a.privilege_type, a.grantee, a.is_grantable
from pg_class as c, aclexplode(c.relacl) as a
where c.oid = 'raw.agent_cost_vector'::regclass and a.grantee <> c.relowner;

do $$
declare
    dependent record;
    index_name text;
begin
    for dependent in select view_name from acv_dependent_views loop
        -- no cascade: a view built on one of these is refused loudly, naming it
        execute format('drop view %s', dependent.view_name);
    end loop;
    for index_name in select indexname from acv_indexes loop
        execute format('drop index raw.%I', index_name);
    end loop;
end
$$;

alter table raw.agent_cost_vector rename to agent_cost_vector_unpartitioned;
alter table raw.agent_cost_vector_unpartitioned rename constraint agent_cost_vector_pkey to old_agent_cost_vector_pkey;

create table raw.agent_cost_vector (
    like raw.agent_cost_vector_unpartitioned
    including defaults including generated including constraints including comments including storage
    including compression
) partition by range ("timestamp");
comment on table raw.agent_cost_vector is
    'One row per metric of one agent execution (long format): latency, tokens, cost, tool calls, retries, memory. Partitioned by week on timestamp (docs/partitions.md).';
alter sequence raw.agent_cost_vector_id_seq owned by raw.agent_cost_vector.id;
alter table raw.agent_cost_vector add constraint agent_cost_vector_pkey primary key (id, "timestamp");
comment on column raw.agent_cost_vector.record_key is
    'Identity of the row as computed by the loader (raw.cost_record_keys enforces it); NULL for rows inserted directly.';
create table raw.agent_cost_vector_default partition of raw.agent_cost_vector default;

do $$
declare
    definition text;
    privilege record;
begin
    -- on the partitioned table, so on every partition
    for definition in select indexdef from acv_indexes loop
        execute definition;
    end loop;
    for privilege in select * from acv_privileges loop
        execute format(
            'grant %s on raw.agent_cost_vector to %s%s',
            privilege.privilege_type,
            case when privilege.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(privilege.grantee)) end,
            case when privilege.is_grantable then ' with grant option' else '' end
        );
    end loop;
end
$$;

create function raw.ensure_cost_partitions(first timestamptz, last timestamptz) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    week timestamptz;
    week_end timestamptz;
    partition_name text;
    missing boolean := false;
    created integer := 0;
    columns text;
begin
    if first is null or last is null then
        return 0;
    end if;
    first := greatest(first, now() - interval '10 years');
    last := least(last, now() + interval '1 year');
    if first > last then
        return 0;
    end if;
    -- Most calls find every partition there: no lock then.
    week := date_trunc('week', first, 'UTC');
    while week <= last and not missing loop
        missing := to_regclass(format('raw.%I', 'agent_cost_vector_' || to_char(week at time zone 'UTC', 'YYYYMMDD'))) is null;
        week := week + interval '7 days';
    end loop;
    if not missing then
        return 0;
    end if;
    perform pg_advisory_xact_lock(hashtext('raw.ensure_cost_partitions'));
    select string_agg(format('%I', attname), ', ' order by attnum) into columns
    from pg_attribute
    where attrelid = 'raw.agent_cost_vector'::regclass and attnum > 0 and not attisdropped and attgenerated = '';
    week := date_trunc('week', first, 'UTC');
    while week <= last loop
        week_end := week + interval '7 days';
        partition_name := 'agent_cost_vector_' || to_char(week at time zone 'UTC', 'YYYYMMDD');
        if to_regclass(format('raw.%I', partition_name)) is null then
            -- Rows of this week that arrived before its partition (inserted directly, not by
            -- the loader) wait in the default partition: they move into the new one.
            drop table if exists pg_temp.cost_rows_moving;
            create temp table cost_rows_moving as
                select * from raw.agent_cost_vector_default where "timestamp" >= week and "timestamp" < week_end;
            delete from raw.agent_cost_vector_default where "timestamp" >= week and "timestamp" < week_end;
            execute format('create table raw.%I partition of raw.agent_cost_vector for values from (%L) to (%L)',
                           partition_name, week, week_end);
            execute format('insert into raw.agent_cost_vector (%s) select %s from pg_temp.cost_rows_moving',
                           columns, columns);
            drop table pg_temp.cost_rows_moving;
            created := created + 1;
        end if;
        week := week_end;
    end loop;
    return created;
end
$$;
comment on function raw.ensure_cost_partitions(timestamptz, timestamptz) is
    'Makes the weekly partitions of raw.agent_cost_vector that rows from first to last need (within ten years back and a year ahead); returns how many it made. Runs as the table owner, for writers.';
do $$
begin
    execute format('alter function raw.ensure_cost_partitions(timestamptz, timestamptz) owner to %I',
                   (select tableowner from pg_tables where schemaname = 'raw' and tablename = 'agent_cost_vector'));
end
$$;
revoke all on function raw.ensure_cost_partitions(timestamptz, timestamptz) from public;
grant execute on function raw.ensure_cost_partitions(timestamptz, timestamptz) to asp_writer;

-- The rows: partitions for their weeks and four weeks ahead, then a copy.
select raw.ensure_cost_partitions(least(min("timestamp"), now()), greatest(max("timestamp"), now() + interval '4 weeks'))
from raw.agent_cost_vector_unpartitioned;
do $$
declare
    columns text;
begin
    select string_agg(format('%I', attname), ', ' order by attnum) into columns
    from pg_attribute
    where attrelid = 'raw.agent_cost_vector_unpartitioned'::regclass and attnum > 0
      and not attisdropped and attgenerated = '';
    execute format('insert into raw.agent_cost_vector (%s) select %s from raw.agent_cost_vector_unpartitioned',
                   columns, columns);
end
$$;
drop table raw.agent_cost_vector_unpartitioned;

do $$
declare
    dependent record;
    grantee record;
begin
    for dependent in select * from acv_dependent_views loop
        execute format('create view %s as %s', dependent.view_name, dependent.definition);
        execute format('alter view %s owner to %I', dependent.view_name, dependent.owner_name);
        for grantee in
            select a.privilege_type, a.grantee, a.is_grantable
            from aclexplode(dependent.relacl) as a
            where a.grantee <> (select oid from pg_roles where rolname = dependent.owner_name)
        loop
            execute format(
                'grant %s on %s to %s%s',
                grantee.privilege_type,
                dependent.view_name,
                case when grantee.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(grantee.grantee)) end,
                case when grantee.is_grantable then ' with grant option' else '' end
            );
        end loop;
    end loop;
end
$$;

-- The keys: writers take a row's identity there (the loader), as they appended rows before.
grant select, insert on raw.cost_record_keys to asp_writer;
-- 0010's change log, on the new table.
create trigger trg_agent_cost_vector_inserted after insert on raw.agent_cost_vector
    referencing new table as changed_rows for each statement execute function raw.note_table_change();
create trigger trg_agent_cost_vector_updated after update on raw.agent_cost_vector
    referencing new table as changed_rows for each statement execute function raw.note_table_change();
create trigger trg_agent_cost_vector_deleted after delete on raw.agent_cost_vector
    referencing old table as removed_rows for each statement execute function raw.note_table_change();
create trigger trg_agent_cost_vector_truncated after truncate on raw.agent_cost_vector
    for each statement execute function raw.note_table_change();
insert into raw.table_changes (table_name) values ('agent_cost_vector');

-- LZ4 for the large text and JSON values of every raw table, where the server has it (the
-- Debian and managed servers do; the embedded server's build does not, and keeps pglz).
-- Values are compressed only when a row is larger than about 2 kB: see docs/partitions.md.
do $$
declare
    target record;
begin
    if exists (select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals)) then
        for target in
            select c.relname, a.attname
            from pg_attribute a
            join pg_class c on c.oid = a.attrelid
            join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'raw' and c.relkind in ('r', 'p') and not c.relispartition
              and a.attnum > 0 and not a.attisdropped
              and a.atttypid in ('text'::regtype, 'jsonb'::regtype, 'bytea'::regtype, 'varchar'::regtype)
              and a.attstorage <> 'p'
        loop
            execute format('alter table raw.%I alter column %I set compression lz4', target.relname, target.attname);
        end loop;
    end if;
end
$$;
