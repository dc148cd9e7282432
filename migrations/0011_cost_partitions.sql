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
--   * Existing rows are copied; dbt's views on the table are dropped with the old table and
--     made again by the next build (the marts, tables, stay readable meanwhile).

create table raw.cost_record_keys (
    record_key uuid primary key,
    "timestamp" timestamptz not null
);
create index idx_cost_record_keys_timestamp on raw.cost_record_keys ("timestamp");
comment on table raw.cost_record_keys is
    'The identity (record_key) of every cost row the loader appended, and its timestamp: a cost row is loaded once across all partitions. Retention removes the keys of the rows it drops.';
insert into raw.cost_record_keys (record_key, "timestamp")
select record_key, "timestamp" from raw.agent_cost_vector where record_key is not null;

alter table raw.agent_cost_vector rename to agent_cost_vector_unpartitioned;
do $$
declare
    index_name text;
begin
    for index_name in
        select indexname from pg_indexes where schemaname = 'raw' and tablename = 'agent_cost_vector_unpartitioned'
    loop
        execute format('alter index raw.%I rename to %I', index_name, left('old_' || index_name, 63));
    end loop;
end
$$;

create table raw.agent_cost_vector (
    like raw.agent_cost_vector_unpartitioned
    including defaults including generated including constraints including comments including storage
    including compression
) partition by range ("timestamp");
alter sequence raw.agent_cost_vector_id_seq owned by raw.agent_cost_vector.id;
alter table raw.agent_cost_vector add constraint agent_cost_vector_pkey primary key (id, "timestamp");
comment on column raw.agent_cost_vector.record_key is
    'Identity of the row as computed by the loader (raw.cost_record_keys enforces it); NULL for rows inserted directly.';
create table raw.agent_cost_vector_default partition of raw.agent_cost_vector default;

-- The specification's indexes, on every partition.
create index idx_acv_task_id on raw.agent_cost_vector (task_id);
create index idx_acv_timestamp on raw.agent_cost_vector (timestamp desc);
create index idx_acv_agent_role on raw.agent_cost_vector (agent_role);
create index idx_acv_metric_type on raw.agent_cost_vector (metric_type);
create index idx_acv_execution_date on raw.agent_cost_vector (execution_date desc);
create index idx_acv_estimation on raw.agent_cost_vector (agent_role, metric_type, timestamp desc);
create index idx_acv_metadata_gin on raw.agent_cost_vector using gin (metadata);
create index idx_acv_loaded_at on raw.agent_cost_vector using brin (loaded_at);

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
drop table raw.agent_cost_vector_unpartitioned cascade;

-- What 0002 and 0010 gave the table, again.
grant select, insert on raw.agent_cost_vector to asp_writer;
grant select on raw.agent_cost_vector to asp_transformer;
grant select, insert on raw.cost_record_keys to asp_writer;
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
