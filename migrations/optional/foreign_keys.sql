-- The specification's optional foreign keys (off by default: they cost insert throughput and
-- force tasks to arrive before their cost rows and defects). Applied by
-- `asp-telemetry db upgrade --with-foreign-keys`; safe to apply again.

do $$
begin
    if not exists (select 1 from pg_constraint where conname = 'fk_acv_task' and conrelid = 'raw.agent_cost_vector'::regclass) then
        alter table raw.agent_cost_vector
            add constraint fk_acv_task
            foreign key (task_id) references raw.task_metadata (task_id) on delete cascade;
    end if;
    if not exists (select 1 from pg_constraint where conname = 'fk_defect_task' and conrelid = 'raw.defect_log'::regclass) then
        alter table raw.defect_log
            add constraint fk_defect_task
            foreign key (task_id) references raw.task_metadata (task_id) on delete cascade;
    end if;
end
$$;
