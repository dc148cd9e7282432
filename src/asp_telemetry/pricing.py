"""Token prices of the models seen in raw data, resolved into schema `pricing` before dbt runs.

`refresh` finds every distinct (llm_provider, llm_model) of raw.agent_cost_vector (a loose
scan of migration 0008's index: one probe per distinct pair, not a read of every row),
resolves each with genai-prices' own model matching into its price schedule (conditional
prices by start date or time of day, tiers by input tokens), lets a team's prices in
seeds/model_prices_custom.csv win over the package's from their effective_from, and rewrites
pricing.model_prices and pricing.unpriced_models, as asp_transformer, in one transaction.
dbt joins each execution to the price in force at its start and does the arithmetic
(int_agent_executions): Python only does what SQL cannot, the matching.

When the schedule changed since the last complete build (a new genai-prices, an edited seed),
`refresh` says so (`Refreshed.changed`) and `asp-telemetry build` rebuilds every cost: history is
re-priced and the raw rows are never rewritten. When nothing the schedule depends on changed
(the models seen, genai-prices' version, the custom seed's bytes: `inputs_digest`, migration
0012) and the marts were built with it in full, `refresh` keeps it without resolving or
rewriting anything: most scheduled builds then neither import genai-prices nor write.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Annotated

from psycopg import Connection
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from asp_telemetry import paths
from asp_telemetry.connection import ConnectionInfo, connect
from asp_telemetry.errors import BuildFailed, InvalidInput, MigrationError

TRANSFORMER_ROLE = "asp_transformer"
CUSTOM_SEED = Path("seeds") / "model_prices_custom.csv"
CUSTOM_SOURCE = "custom seed"
CUSTOM_PRIORITY = 1_000_000
# genai-prices' price keys this product has usage for (the metric types Tokens_In, Tokens_Out,
# Tokens_Cache_Read, Tokens_Cache_Write; an execution is one request). Other keys (audio,
# images, web searches) have no usage here, so they add nothing, as in calc_price.
PRICE_KEYS = {
    "input_mtok": "input_per_mtok",
    "output_mtok": "output_per_mtok",
    "cache_read_mtok": "cache_read_per_mtok",
    "cache_write_mtok": "cache_write_per_mtok",
    "requests_kcount": "requests_per_k",
}

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Price = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


def package_version() -> str:
    # from the package's metadata (the same string as genai_prices.__version__): importing
    # genai_prices loads its price data, which a build that keeps its schedule never reads
    return metadata.version("genai-prices")


def package_source() -> str:
    return f"genai-prices {package_version()}"


class CustomPrice(BaseModel):
    """One row of seeds/model_prices_custom.csv: a team's price, in force from effective_from."""

    model_config = ConfigDict(extra="forbid")

    provider: Name
    model: Name
    effective_from: datetime
    input_per_mtok: Price | None = None
    output_per_mtok: Price | None = None
    cache_read_per_mtok: Price | None = None
    cache_write_per_mtok: Price | None = None

    @field_validator("effective_from", mode="before")
    @classmethod
    def _date_or_instant(cls, value: object) -> object:
        if isinstance(value, str) and len(value.strip()) == 10:
            return datetime.combine(date.fromisoformat(value.strip()), time(), UTC)
        return value

    @field_validator("effective_from")
    @classmethod
    def _with_offset(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a date (2025-06-01) or a time with its offset (2025-06-01T00:00:00Z)")
        return value

    @field_validator("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok",
                     mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class PriceRow(BaseModel):
    """One row of pricing.model_prices."""

    llm_provider: str
    llm_model: str
    priority: int
    effective_from: datetime | None = None
    daily_from: time | None = None
    daily_to: time | None = None
    input_tokens_above: int = 0
    input_per_mtok: Decimal | None = None
    output_per_mtok: Decimal | None = None
    cache_read_per_mtok: Decimal | None = None
    cache_write_per_mtok: Decimal | None = None
    requests_per_k: Decimal | None = None
    price_provider: str
    price_model: str
    source: str


class Unpriced(BaseModel):
    """A (provider, model) seen in raw data that resolves to no price."""

    llm_provider: str
    llm_model: str
    reason: str


class Schedule(BaseModel):
    """The price schedule of the models seen."""

    prices: list[PriceRow] = []
    unpriced: list[Unpriced] = []

    def fingerprints(self) -> dict[str, str]:
        """The sha256 of each (provider, model)'s prices (or of its being unpriced)."""
        texts: dict[str, list[str]] = {}
        for row in [*self.prices, *self.unpriced]:
            texts.setdefault(json.dumps([row.llm_provider, row.llm_model]), []).append(row.model_dump_json())
        return {key: hashlib.sha256("\n".join(rows).encode()).hexdigest() for key, rows in sorted(texts.items())}


def load_custom_prices(path: Path | None = None) -> list[CustomPrice]:
    """The rows of the custom price seed; InvalidInput naming the line and the problem."""
    path = path or paths.project_dir() / CUSTOM_SEED
    if not path.exists():
        return []
    rows: list[CustomPrice] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        expected = list(CustomPrice.model_fields)
        if reader.fieldnames is None or sorted(reader.fieldnames) != sorted(expected):
            raise InvalidInput(
                f"{path}: the header must be {','.join(expected)} (found {','.join(reader.fieldnames or [])})"
            )
        for line_number, record in enumerate(reader, start=2):
            try:
                rows.append(CustomPrice.model_validate(record))
            except ValidationError as exc:
                problem = "; ".join(
                    f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
                )
                raise InvalidInput(f"{path}, line {line_number}: {problem}: correct the line") from None
    return rows


def seen_models(conn: Connection) -> list[tuple[str, str]]:
    """Every distinct (llm_provider, llm_model) of raw.agent_cost_vector ('' for no provider),
    by a loose scan of idx_acv_model_provider."""
    rows = conn.execute(
        """
        with recursive seen as (
            (select llm_model, coalesce(llm_provider, '') as llm_provider
             from raw.agent_cost_vector
             where llm_model is not null
             order by llm_model, coalesce(llm_provider, '')
             limit 1)
            union all
            select later.llm_model, later.llm_provider
            from seen
            cross join lateral (
                select a.llm_model, coalesce(a.llm_provider, '') as llm_provider
                from raw.agent_cost_vector as a
                where (a.llm_model, coalesce(a.llm_provider, '')) > (seen.llm_model, seen.llm_provider)
                order by a.llm_model, coalesce(a.llm_provider, '')
                limit 1
            ) as later
        )
        select llm_provider, llm_model from seen order by llm_provider, llm_model
        """
    ).fetchall()
    return [(provider, model) for provider, model in rows]


def resolve(pairs: Iterable[tuple[str, str]], custom: Sequence[CustomPrice] = ()) -> Schedule:
    """The schedule of each (provider, model): the package's prices, then the custom ones."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    source = package_source()
    schedule = Schedule()
    for provider, model in pairs:
        own = sorted(
            (c for c in custom if c.provider.lower() == provider.lower() and c.model.lower() == model.lower()),
            key=lambda c: c.effective_from,
        )
        package_rows: list[PriceRow] = []
        reason = None
        try:
            found_provider, found_model = snapshot.find_provider_model(model, None, provider or None, None)
        except LookupError as exc:
            reason = str(exc)
        else:
            package_rows = _package_rows(provider, model, found_provider.id, found_model, source)
        custom_rows = [
            PriceRow(
                llm_provider=provider, llm_model=model, priority=CUSTOM_PRIORITY + index,
                effective_from=c.effective_from, input_per_mtok=c.input_per_mtok,
                output_per_mtok=c.output_per_mtok, cache_read_per_mtok=c.cache_read_per_mtok,
                cache_write_per_mtok=c.cache_write_per_mtok, price_provider=c.provider, price_model=c.model,
                source=CUSTOM_SOURCE,
            )
            for index, c in enumerate(own)
        ]
        if package_rows or custom_rows:
            schedule.prices += package_rows + custom_rows
        else:
            schedule.unpriced.append(Unpriced(llm_provider=provider, llm_model=model, reason=reason or "no price"))
    return schedule


def _package_rows(provider: str, model: str, price_provider: str, info, source: str) -> list[PriceRow]:
    from genai_prices import types

    if isinstance(info.prices, types.ModelPrice):
        conditions = [(None, info.prices)]
    else:
        conditions = [(conditional.constraint, conditional.prices) for conditional in info.prices]
    rows = []
    for priority, (constraint, model_price) in enumerate(conditions):
        window: dict[str, object] = {}
        if isinstance(constraint, types.StartDateConstraint):
            window["effective_from"] = datetime.combine(constraint.start_date, time(), UTC)
        elif isinstance(constraint, types.TimeOfDateConstraint):
            window["daily_from"] = _utc_time(constraint.start_time)
            window["daily_to"] = _utc_time(constraint.end_time)
        prices = {key: getattr(model_price, key, None) for key in PRICE_KEYS}
        starts = sorted({0, *(tier.start for price in prices.values()
                              if isinstance(price, types.TieredPrices) for tier in price.tiers)})
        for start in starts:
            rows.append(PriceRow(
                llm_provider=provider, llm_model=model, priority=priority, input_tokens_above=start,
                price_provider=price_provider, price_model=info.id, source=source, **window,
                **{column: _price_at(prices[key], start) for key, column in PRICE_KEYS.items()},
            ))
    return rows


def _price_at(price, start: int) -> Decimal | None:
    """The price of a key for inputs above `start` tokens: genai-prices applies the highest
    tier whose start the input tokens exceed to all of them."""
    from genai_prices import types

    if not isinstance(price, types.TieredPrices):
        return price
    applicable = price.base
    for tier in price.tiers:  # sorted by start
        if start > 0 and tier.start <= start:
            applicable = tier.price
    return applicable


def _utc_time(value: time) -> time:
    if value.tzinfo is None:
        return value
    return datetime.combine(date(1970, 1, 1), value).astimezone(UTC).time()


class Refreshed(BaseModel):
    """What `refresh` wrote."""

    models_seen: int
    priced: int
    unpriced: list[Unpriced]
    changed: bool = Field(description="A model already built has other prices now: the build re-prices history.")
    source: str


def inputs_digest(pairs: Sequence[tuple[str, str]], custom_path: Path | None = None) -> str:
    """sha256 of what `resolve` depends on: the models seen, genai-prices' version and the
    custom price seed's bytes."""
    path = custom_path or paths.project_dir() / CUSTOM_SEED
    digest = hashlib.sha256(json.dumps([package_source(), sorted(pairs)]).encode())
    digest.update(path.read_bytes() if path.exists() else b"no custom seed")
    return digest.hexdigest()


def refresh(info: ConnectionInfo, custom_path: Path | None = None) -> Refreshed:
    """Resolve the prices of the models seen and rewrite schema pricing, as asp_transformer.
    When the inputs are those the schedule was last resolved from and the marts were built
    with that schedule in full, the schedule is kept as it is (nothing to resolve or re-price)."""
    with connect(info) as conn:
        if not conn.execute("select exists (select 1 from pg_tables where schemaname = 'pricing'"
                            " and tablename = 'schedule_state')").fetchone()[0]:
            raise MigrationError(
                "this database has no price schedule (migration 0008): run asp-telemetry db upgrade"
            )
        if not conn.execute("select pg_has_role(current_user, %s, 'member')", [TRANSFORMER_ROLE]).fetchone()[0]:
            raise BuildFailed(
                f"permission denied to set role {TRANSFORMER_ROLE}: builds work as {TRANSFORMER_ROLE}, and the login "
                f"{info.user} is not a member of it (asp-telemetry db grant-login {TRANSFORMER_ROLE} USER makes one)"
            )
        conn.execute(f"set local role {TRANSFORMER_ROLE}")
        # one refresh at a time: two builds started together write one schedule
        conn.execute("lock table pricing.schedule_state in exclusive mode")
        pairs = seen_models(conn)
        inputs = inputs_digest(pairs, custom_path)
        if conn.execute("select exists (select 1 from pricing.schedule_state"
                        " where inputs_digest = %s and built_fingerprint = fingerprint)", [inputs]).fetchone()[0]:
            return _kept(conn, len(pairs))
        custom = load_custom_prices(custom_path)
        schedule = resolve(pairs, custom)
        conn.execute("delete from pricing.model_prices")
        conn.execute("delete from pricing.unpriced_models")
        columns = list(PriceRow.model_fields)
        with conn.cursor().copy(
            f"copy pricing.model_prices ({', '.join(columns)}) from stdin"  # fixed column names
        ) as copy:
            for row in schedule.prices:
                copy.write_row([getattr(row, column) for column in columns])
        with conn.cursor().copy("copy pricing.unpriced_models (llm_provider, llm_model, reason) from stdin") as copy:
            for row in schedule.unpriced:
                copy.write_row([row.llm_provider, row.llm_model, row.reason])
        # Per (provider, model): the hash of its prices now, and of those the marts were built
        # with. Only a model already built whose prices differ re-prices history: a model seen
        # for the first time is priced as it is built (it joins the built set right away, so a
        # build that fails half way cannot leave it priced with prices nobody remembers).
        now = schedule.fingerprints()
        stored = conn.execute("select built_fingerprint from pricing.schedule_state").fetchone()
        priced_before = conn.execute("select to_regclass('intermediate.int_agent_executions')").fetchone()[0]
        changed, built = compare_fingerprints(now, stored[0] if stored else None, priced_before is not None)
        conn.execute(
            """
            insert into pricing.schedule_state (fingerprint, built_fingerprint, inputs_digest) values (%s, %s, %s)
            on conflict (singleton) do update
            set fingerprint = excluded.fingerprint, built_fingerprint = excluded.built_fingerprint,
                inputs_digest = excluded.inputs_digest, resolved_at = now()
            """,
            [json.dumps(now), None if built is None else json.dumps(built), inputs],
        )
    return refreshed(pairs, schedule, changed)


def compare_fingerprints(now: dict[str, str], built_text: str | None,
                         priced_before: bool) -> tuple[bool, dict[str, str] | None]:
    """(whether history must be re-priced, the fingerprints to record as built) from the
    schedule now and the one the marts were built with (JSON text, None if unknown)."""
    if built_text is not None:
        previous = json.loads(built_text)
        changed = any(now.get(key) != digest for key, digest in previous.items())
        return changed, {**now, **previous}
    if not priced_before:  # nothing priced yet: the first build prices all with this schedule
        return False, now
    return True, None  # built before prices existed (migration 0008): re-price everything once


def refreshed(pairs: Sequence[tuple[str, str]], schedule: Schedule, changed: bool) -> Refreshed:
    priced_pairs = {(row.llm_provider, row.llm_model) for row in schedule.prices}
    return Refreshed(
        models_seen=len(pairs), priced=len(priced_pairs), unpriced=schedule.unpriced,
        changed=changed, source=package_source(),
    )


def _kept(conn: Connection, models_seen: int) -> Refreshed:
    """What `refresh` reports for the schedule it kept: as it stands in schema pricing."""
    priced = conn.execute(
        "select count(*) from (select distinct llm_provider, llm_model from pricing.model_prices) as priced"
    ).fetchone()[0]
    unpriced = [Unpriced(llm_provider=provider, llm_model=model, reason=reason) for provider, model, reason in
                conn.execute("select llm_provider, llm_model, reason from pricing.unpriced_models"
                             " order by llm_provider, llm_model").fetchall()]
    return Refreshed(models_seen=models_seen, priced=priced, unpriced=unpriced, changed=False,
                     source=package_source())


def mark_built(info: ConnectionInfo) -> None:
    """After a build that priced everything with the schedule now resolved (a complete build,
    or one that re-priced nothing)."""
    with connect(info) as conn:
        conn.execute(f"set local role {TRANSFORMER_ROLE}")
        conn.execute("update pricing.schedule_state set built_fingerprint = fingerprint")


class ModelPriceReport(BaseModel):
    """One model seen, its volume, and the price it resolves to now (None: unpriced)."""

    llm_provider: str
    llm_model: str
    executions: int
    tokens_in: Decimal
    tokens_out: Decimal
    cache_read_tokens: Decimal
    cache_write_tokens: Decimal
    price: PriceRow | None
    price_rows: int
    reason: str | None


def report(info: ConnectionInfo, custom_path: Path | None = None) -> list[ModelPriceReport]:
    """Every model seen with its token volume and the price it resolves to at this moment
    (its latest price: the custom seed's or the package's), for `asp-telemetry prices`."""
    custom = load_custom_prices(custom_path)
    with connect(info) as conn:
        conn.execute("set transaction read only")
        pairs = seen_models(conn)
        volumes = {
            (provider, model): row
            for provider, model, *row in conn.execute(
                """
                select coalesce(llm_provider, ''), llm_model,
                       count(distinct (task_id, subtask_id, agent_role, agent_iteration, metadata ->> 'execution_id')),
                       coalesce(sum(metric_value) filter (where metric_type = 'Tokens_In'), 0),
                       coalesce(sum(metric_value) filter (where metric_type = 'Tokens_Out'), 0),
                       coalesce(sum(metric_value) filter (where metric_type = 'Tokens_Cache_Read'), 0),
                       coalesce(sum(metric_value) filter (where metric_type = 'Tokens_Cache_Write'), 0)
                from raw.agent_cost_vector
                where llm_model is not null
                group by 1, 2
                """
            ).fetchall()
        }
    schedule = resolve(pairs, custom)
    now = datetime.now(UTC)
    reasons = {(u.llm_provider, u.llm_model): u.reason for u in schedule.unpriced}
    result = []
    for pair in pairs:
        rows = [r for r in schedule.prices if (r.llm_provider, r.llm_model) == pair]
        current = _in_force(rows, now)
        executions, tokens_in, tokens_out, cache_read, cache_write = volumes.get(pair, (0, 0, 0, 0, 0))
        result.append(ModelPriceReport(
            llm_provider=pair[0], llm_model=pair[1], executions=executions, tokens_in=tokens_in,
            tokens_out=tokens_out, cache_read_tokens=cache_read, cache_write_tokens=cache_write,
            price=current, price_rows=len(rows), reason=reasons.get(pair),
        ))
    return result


def _in_force(rows: list[PriceRow], at: datetime) -> PriceRow | None:
    """The base-tier row in force at `at` (the rule int_agent_executions applies)."""
    base = [r for r in rows if r.input_tokens_above == 0]
    active = [r for r in base if (r.effective_from is None or r.effective_from <= at) and _in_window(r, at)]
    chosen = max(active, key=lambda r: r.priority, default=None)
    return chosen or next((r for r in base if r.priority == 0), None)


def _in_window(row: PriceRow, at: datetime) -> bool:
    if row.daily_from is None or row.daily_to is None:
        return True
    moment = at.astimezone(UTC).time()
    if row.daily_to < row.daily_from:
        return moment >= row.daily_from or moment < row.daily_to
    return row.daily_from <= moment < row.daily_to
