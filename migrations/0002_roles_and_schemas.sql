-- Access roles (all NOLOGIN; `asp-telemetry db grant-login ROLE USER` makes a login for one)
-- and the schemas dbt builds into.
--   asp_writer       agents and loaders: insert and read raw rows; update only tasks (they
--                    complete) and defects (they get resolved); never delete; nothing outside raw.
--   asp_transformer  dbt: reads raw, owns staging, intermediate and marts.
--   asp_reader       BI tools: reads marts only.
-- Roles belong to the whole cluster, so creating one that another database already made is fine.

do $$
declare
    role_name text;
begin
    foreach role_name in array array['asp_writer', 'asp_transformer', 'asp_reader'] loop
        begin
            execute format('create role %I nologin', role_name);
        exception when duplicate_object or unique_violation then
            null;
        end;
    end loop;
end
$$;

create schema if not exists staging authorization asp_transformer;
create schema if not exists intermediate authorization asp_transformer;
create schema if not exists marts authorization asp_transformer;

grant usage on schema raw to asp_writer, asp_transformer;
grant select, insert on all tables in schema raw to asp_writer;
grant update on raw.task_metadata, raw.defect_log to asp_writer;
grant usage on all sequences in schema raw to asp_writer;
grant select on all tables in schema raw to asp_transformer;

-- Tables that later migrations add to raw: readable by dbt, insertable by writers.
alter default privileges in schema raw grant select on tables to asp_transformer;
alter default privileges in schema raw grant select, insert on tables to asp_writer;
alter default privileges in schema raw grant usage on sequences to asp_writer;

grant usage on schema marts to asp_reader;
alter default privileges for role asp_transformer in schema marts grant select on tables to asp_reader;

comment on schema staging is 'dbt staging views: one per raw table, cast and unpacked.';
comment on schema intermediate is 'dbt intermediate models shared by the marts.';
comment on schema marts is 'The published contract for BI tools (metrics.md).';
