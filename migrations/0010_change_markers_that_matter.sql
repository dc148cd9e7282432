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
