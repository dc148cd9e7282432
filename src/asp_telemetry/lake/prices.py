"""The price rows of a Spark build: the `model_prices` and `unpriced_models` datasets of the
lake, resolved exactly as pricing.refresh resolves pricing.model_prices on PostgreSQL (the
same genai-prices matching and custom seed, pricing.resolve), from the models seen in the
lake's cost rows. Rewritten whole before every Spark build; a schedule that changed for a
model already built says so (`changed`: the build re-prices history), as on PostgreSQL."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from asp_telemetry import pricing
from asp_telemetry.lake import paths as lake_paths
from asp_telemetry.lake.files import LakeWriteError, PendingFiles
from asp_telemetry.lake.schemas import MODEL_PRICES_SCHEMA, UNPRICED_MODELS_SCHEMA

MODEL_PRICES = "model_prices"
UNPRICED_MODELS = "unpriced_models"
COSTS = "agent_cost_vector"
# The fingerprints of the schedule now and of the one the marts were built with (pricing's
# schedule_state on PostgreSQL); a leading `_` keeps it out of Spark's datasets.
STATE = "_price_schedule.json"


def seen_models(lake: Path) -> list[tuple[str, str]]:
    """Every distinct (llm_provider, llm_model) of the lake's cost rows ('' for no provider)."""
    directory = lake / COSTS
    if not directory.is_dir():
        return []
    table = ds.dataset(directory, format="parquet", partitioning="hive").to_table(
        columns=["llm_provider", "llm_model"], filter=pc.field("llm_model").is_valid())
    table = table.set_column(0, "llm_provider", pc.fill_null(table.column("llm_provider"), ""))
    pairs = table.group_by(["llm_provider", "llm_model"]).aggregate([]).to_pylist()
    return sorted((row["llm_provider"], row["llm_model"]) for row in pairs)


def _rewrite(lake: Path, dataset: str, table: pa.Table, write_id: str) -> None:
    """The dataset becomes `table`: the new file is made visible, then the old ones go."""
    directory = lake / dataset
    old = [path for path in directory.glob("*.parquet")] if directory.is_dir() else []
    files = PendingFiles()
    try:
        files.write(table, directory / lake_paths.part_name(write_id, 0))
        files.commit()
    finally:
        files.discard()
    for path in old:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _state(lake: Path) -> dict:
    path = lake / MODEL_PRICES / STATE
    return json.loads(path.read_text()) if path.is_file() else {}


def _save_state(lake: Path, state: dict) -> None:
    path = lake / MODEL_PRICES / STATE
    hidden = lake_paths.hidden(path)
    hidden.write_text(json.dumps(state))
    hidden.replace(path)


def write_prices(lake: Path, custom_path: Path | None = None) -> pricing.Refreshed:
    """Resolve the prices of the models seen in the lake and rewrite its price datasets."""
    custom = pricing.load_custom_prices(custom_path)
    pairs = seen_models(lake)
    schedule = pricing.resolve(pairs, custom)
    resolved_at = datetime.now(UTC)
    write_id = lake_paths.new_load_id(resolved_at)
    prices = [{**row.model_dump(), "resolved_at": resolved_at} for row in schedule.prices]
    decimals = [field.name for field in MODEL_PRICES_SCHEMA if pa.types.is_decimal(field.type)]
    quantum = Decimal(1).scaleb(-MODEL_PRICES_SCHEMA.field(decimals[0]).type.scale)
    for row in prices:
        for name in ("daily_from", "daily_to"):  # Spark has no time of day: 'HH:MM:SS' text
            row[name] = None if row[name] is None else row[name].strftime("%H:%M:%S.%f")
        for name in decimals:
            row[name] = None if row[name] is None else row[name].quantize(quantum, rounding=ROUND_HALF_UP)
    unpriced = [{**row.model_dump(), "resolved_at": resolved_at} for row in schedule.unpriced]
    try:
        (lake / MODEL_PRICES).mkdir(parents=True, exist_ok=True)
        _rewrite(lake, MODEL_PRICES, pa.Table.from_pylist(prices, schema=MODEL_PRICES_SCHEMA), write_id)
        _rewrite(lake, UNPRICED_MODELS, pa.Table.from_pylist(unpriced, schema=UNPRICED_MODELS_SCHEMA), write_id)
        now = schedule.fingerprints()
        state = _state(lake)
        changed, built = pricing.compare_fingerprints(now, state.get("built_fingerprint"),
                                                      priced_before="fingerprint" in state)
        _save_state(lake, {"fingerprint": json.dumps(now),
                           "built_fingerprint": None if built is None else json.dumps(built)})
    except OSError as exc:
        raise LakeWriteError(f"cannot write the prices into the lake {lake} ({exc.strerror or exc})") from exc
    return pricing.refreshed(pairs, schedule, changed)


def mark_built(lake: Path) -> None:
    """After a Spark build that priced everything with the schedule now written."""
    state = _state(lake)
    if state:
        _save_state(lake, {**state, "built_fingerprint": state["fingerprint"]})
