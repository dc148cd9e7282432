-- Exact costs (docs/metrics.md, "Cost"): metric_value keeps 12 decimal places, and schema
-- pricing holds the price schedule that `asp-telemetry build` resolves before dbt runs.

-- 1. A deliberate departure from the specification (metrics.md, error 6): NUMERIC(15, 4)
-- stores a $0.00003 call as $0.0000. numeric(24, 12) keeps 12 decimal places and the same
-- 12 integer digits. Changing a column's type is refused while a view reads it: the views on
-- raw.agent_cost_vector (dbt's staging view, any a team made) are dropped and made again with
-- the same definition, owner and privileges, in this one transaction.
create temporary table acv_dependent_views on commit drop as
select distinct
    v.oid::regclass::text as view_name,
    pg_get_viewdef(v.oid) as definition,
    pg_get_userbyid(v.relowner) as owner_name,
    v.relacl,
    v.oid as view_oid
from pg_depend as d
join pg_rewrite as r on r.oid = d.objid
join pg_class as v on v.oid = r.ev_class
where d.classid = 'pg_rewrite'::regclass
  and d.refobjid = 'raw.agent_cost_vector'::regclass
  and v.oid <> 'raw.agent_cost_vector'::regclass
  and v.relkind = 'v';

do $$
declare
    dependent record;
begin
    for dependent in select view_name from acv_dependent_views loop
        -- no cascade: a view built on one of these is refused loudly, naming it
        execute format('drop view %s', dependent.view_name);
    end loop;
end
$$;

alter table raw.agent_cost_vector alter column metric_value type numeric(24, 12);
comment on column raw.agent_cost_vector.metric_value is
    'The metric''s value; numeric(24, 12), not the specification''s numeric(15, 4), so that sub-cent costs keep their digits (docs/metrics.md).';

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

-- 2. The models seen, found without reading every cost row: a loose scan of this index
-- (asp_telemetry.pricing) visits one entry per distinct (model, provider).
create index idx_acv_model_provider on raw.agent_cost_vector (llm_model, (coalesce(llm_provider, '')));

-- 3. The price schedule. asp_transformer writes it (the step `asp-telemetry build` and the
-- transform flow run before dbt, as asp_transformer) and dbt reads it; nobody else.
create schema if not exists pricing authorization asp_transformer;
comment on schema pricing is
    'Token prices of the models seen in raw data, resolved by asp-telemetry build before dbt runs (genai-prices and seeds/model_prices_custom.csv).';

create table pricing.model_prices (
    llm_provider text not null,
    llm_model text not null,
    priority integer not null,
    effective_from timestamptz,
    daily_from time,
    daily_to time,
    input_tokens_above bigint not null default 0,
    input_per_mtok numeric,
    output_per_mtok numeric,
    cache_read_per_mtok numeric,
    cache_write_per_mtok numeric,
    requests_per_k numeric,
    price_provider text not null,
    price_model text not null,
    source text not null,
    resolved_at timestamptz not null default now(),
    constraint pk_model_prices primary key (llm_provider, llm_model, priority, input_tokens_above),
    constraint chk_daily_window check ((daily_from is null) = (daily_to is null)),
    constraint chk_prices_not_negative check (
        coalesce(input_per_mtok, 0) >= 0 and coalesce(output_per_mtok, 0) >= 0
        and coalesce(cache_read_per_mtok, 0) >= 0 and coalesce(cache_write_per_mtok, 0) >= 0
        and coalesce(requests_per_k, 0) >= 0
    )
);
alter table pricing.model_prices owner to asp_transformer;
comment on table pricing.model_prices is
    'One row per price of a (provider, model) seen in raw data: the row in force at an execution''s start is the active row of highest priority (priority 0 when none is active), at the highest input_tokens_above its input tokens exceed. Rewritten whole before every build.';
comment on column pricing.model_prices.llm_provider is 'llm_provider as the raw rows hold it ('''' for none).';
comment on column pricing.model_prices.llm_model is 'llm_model as the raw rows hold it.';
comment on column pricing.model_prices.priority is
    'Order of the price: genai-prices'' conditional prices in their order (0, 1, ...), custom seed rows from 1000000 on, in effective_from order.';
comment on column pricing.model_prices.effective_from is 'In force from this instant (NULL: always).';
comment on column pricing.model_prices.daily_from is 'In force only from this UTC time of day (off-peak prices); NULL: all day.';
comment on column pricing.model_prices.daily_to is 'In force only until this UTC time of day (exclusive; may be before daily_from: over midnight).';
comment on column pricing.model_prices.input_tokens_above is
    'Tiered prices: this row applies to executions with more input tokens than this (0: the base price).';
comment on column pricing.model_prices.input_per_mtok is 'USD per million uncached input tokens.';
comment on column pricing.model_prices.output_per_mtok is 'USD per million output tokens.';
comment on column pricing.model_prices.cache_read_per_mtok is 'USD per million input tokens read from the cache (NULL: charged as input).';
comment on column pricing.model_prices.cache_write_per_mtok is 'USD per million input tokens written to the cache (NULL: charged as input).';
comment on column pricing.model_prices.requests_per_k is 'USD per thousand requests (an execution is one request).';
comment on column pricing.model_prices.price_provider is 'The provider whose price this is (genai-prices'' id, or as the custom seed names it).';
comment on column pricing.model_prices.price_model is 'The model whose price this is (genai-prices'' model id, or as the custom seed names it).';
comment on column pricing.model_prices.source is '''genai-prices <version>'' or ''custom seed''.';

create table pricing.unpriced_models (
    llm_provider text not null,
    llm_model text not null,
    reason text not null,
    resolved_at timestamptz not null default now(),
    constraint pk_unpriced_models primary key (llm_provider, llm_model)
);
alter table pricing.unpriced_models owner to asp_transformer;
comment on table pricing.unpriced_models is
    'The (provider, model) pairs seen in raw data that resolve to no price, and why. Rewritten whole before every build.';
comment on column pricing.unpriced_models.llm_provider is 'llm_provider as the raw rows hold it ('''' for none).';
comment on column pricing.unpriced_models.llm_model is 'llm_model as the raw rows hold it.';
comment on column pricing.unpriced_models.reason is 'Why no price was found (genai-prices'' own words).';

create table pricing.schedule_state (
    singleton boolean primary key default true,
    fingerprint text not null,
    built_fingerprint text,
    resolved_at timestamptz not null default now(),
    constraint chk_one_row check (singleton)
);
alter table pricing.schedule_state owner to asp_transformer;
comment on table pricing.schedule_state is
    'One row: the fingerprint of the price schedule now, and of the one the marts were last built with in full. When they differ the next build recomputes every cost (re-pricing history; the raw rows are never rewritten).';
comment on column pricing.schedule_state.singleton is 'Always true: the table holds one row.';
comment on column pricing.schedule_state.fingerprint is 'sha256 of the schedule (model_prices and unpriced_models) as last resolved.';
comment on column pricing.schedule_state.built_fingerprint is 'The fingerprint of the schedule the last complete build priced with.';
comment on column pricing.schedule_state.resolved_at is 'When the schedule was last resolved.';
