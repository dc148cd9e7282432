-- The inputs the price step (src/asp_telemetry/pricing.py) last resolved the schedule from: the
-- (provider, model) pairs seen in raw.agent_cost_vector, the genai-prices version and the bytes
-- of the custom price seed. A build whose inputs are the ones last resolved, with the schedule
-- they gave built in full, keeps the schedule as it is instead of resolving and rewriting it
-- (docs/benchmarks.md: the fixed cost of a planned build).
alter table pricing.schedule_state add column inputs_digest text;
comment on column pricing.schedule_state.inputs_digest is
    'sha256 of the price step''s inputs (models seen, genai-prices version, custom seed) when the schedule was last resolved.';
