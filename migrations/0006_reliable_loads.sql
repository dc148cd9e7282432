-- Reliable loads: every reject keeps the exact bytes it was read from, and a load that lost its
-- connection (or whose process died) is recorded as interrupted rather than running for ever.
-- Additive: the specification's INSERTs and queries run unchanged.

-- The exact bytes of a rejected record, beside original_text (its readable rendering, where an
-- invalid UTF-8 byte shows as \xff and a NUL as \u0000): a raw NUL byte and the six characters
-- \u0000 differ here, and a file can be repaired from its rejects byte for byte. NULL for rejects
-- stored before this migration. A record longer than the load's --max-record-bytes keeps an
-- excerpt (its reason says so).
alter table raw.rejected_records add column original_bytes bytea;
comment on column raw.rejected_records.original_bytes is
    'The exact bytes of the rejected record as read (a native line or a CSV row without its line break; the JSON of an OTLP span or Langfuse observation); an excerpt when the record exceeded the size limit.';
comment on column raw.rejected_records.original_text is
    'original_bytes as readable text: UTF-8, invalid bytes as \xNN, NUL as \u0000.';

-- interrupted: the load stopped before its end (the connection to the database was lost, the
-- process died, or it hit its time limit); the batches committed before stay, and loading the
-- same input again completes it (identities make that safe).
alter table raw.loads drop constraint chk_load_status;
alter table raw.loads add constraint chk_load_status
    check (status in ('running', 'complete', 'rolled_back', 'failed', 'interrupted'));
alter table raw.loads add column error text;
-- Each load looks for the running rows of dead loads: few among many.
create index idx_loads_running on raw.loads (load_id) where status = 'running';

comment on column raw.loads.status is
    'running (a live load holds an advisory lock on its row; a running row without one belongs to a dead process and is marked interrupted by the next load), complete, rolled_back (--strict and a reject), failed (unreadable input), interrupted (connection lost, process died, time limit).';
comment on column raw.loads.error is 'Why a failed or interrupted load stopped, and what to do.';
comment on column raw.loads.records_read is 'Records read from the source: loaded + updated + duplicates + rejected.';

grant update (error) on raw.loads to asp_writer;
