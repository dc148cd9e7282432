"""The price step of a Spark build: the prices of the models seen on the lake, written as the
lake datasets `model_prices` and `unpriced_models` (what asp_telemetry.pricing writes into
schema pricing on PostgreSQL; the spark contract, "Changes").

The models seen are the distinct (llm_provider, llm_model) of the lake's cost rows; each is
resolved exactly as on PostgreSQL (pricing.resolve: genai-prices' matching, then the custom
seed). Both datasets are rewritten whole. The fingerprints of the schedule the marts were
built with are kept in $ASP_HOME/spark/price_fingerprints.json: when a model already built
has other prices now, `changed` says so and the build rebuilds every cost (--full-refresh),
as on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asp_telemetry import pricing
from asp_telemetry.lake import session as lake_session
from asp_telemetry.pricing import PriceRow, Refreshed

FINGERPRINTS = "price_fingerprints.json"
_DECIMAL = "decimal(38,12)"
PRICE_SCHEMA = (
    "llm_provider string, llm_model string, priority int, effective_from timestamp, daily_from string, "
    f"daily_to string, input_tokens_above bigint, input_per_mtok {_DECIMAL}, output_per_mtok {_DECIMAL}, "
    f"cache_read_per_mtok {_DECIMAL}, cache_write_per_mtok {_DECIMAL}, requests_per_k {_DECIMAL}, "
    "price_provider string, price_model string, source string, resolved_at timestamp"
)
UNPRICED_SCHEMA = "llm_provider string, llm_model string, reason string, resolved_at timestamp"


def seen_models(spark: Any, lake: str) -> list[tuple[str, str]]:
    """Every distinct (llm_provider, llm_model) of the lake's cost rows ('' for no provider)."""
    from pyspark.errors import AnalysisException

    try:
        rows = spark.read.parquet(f"{lake}/agent_cost_vector").where("llm_model is not null").selectExpr(
            "coalesce(llm_provider, '') as llm_provider", "llm_model").distinct().collect()
    except AnalysisException:  # no cost rows on the lake yet (no dataset)
        return []
    return sorted((row.llm_provider, row.llm_model) for row in rows)


def _time_text(value: Any) -> str | None:
    """A time of day as the lake keeps it ('HH:MM:SS.ffffff', comparable as text)."""
    return None if value is None else value.strftime("%H:%M:%S.%f")


def _price_row(row: PriceRow, resolved_at: datetime) -> tuple:
    return (
        row.llm_provider, row.llm_model, row.priority, row.effective_from, _time_text(row.daily_from),
        _time_text(row.daily_to), row.input_tokens_above, row.input_per_mtok, row.output_per_mtok,
        row.cache_read_per_mtok, row.cache_write_per_mtok, row.requests_per_k, row.price_provider,
        row.price_model, row.source, resolved_at,
    )


def refresh(lake: str | None = None, custom_path: Path | None = None, spark: Any = None) -> Refreshed:
    """Resolve the prices of the models seen on the lake and rewrite its price datasets."""
    lake = lake or lake_session.lake_url()
    spark = spark or lake_session.get_session()
    custom = pricing.load_custom_prices(custom_path)
    pairs = seen_models(spark, lake)
    schedule = pricing.resolve(pairs, custom)
    resolved_at = datetime.now(UTC)
    spark.createDataFrame([_price_row(row, resolved_at) for row in schedule.prices], PRICE_SCHEMA) \
        .coalesce(1).write.mode("overwrite").parquet(f"{lake}/model_prices")
    spark.createDataFrame(
        [(row.llm_provider, row.llm_model, row.reason, resolved_at) for row in schedule.unpriced], UNPRICED_SCHEMA
    ).coalesce(1).write.mode("overwrite").parquet(f"{lake}/unpriced_models")
    now = schedule.fingerprints()
    state = lake_session.spark_dir() / FINGERPRINTS
    built = json.loads(state.read_text()) if state.exists() else {}
    changed = any(now.get(key) != digest for key, digest in built.items() if key in now)
    # a model seen for the first time is priced as it is built: it joins the built set now
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({**now, **built}))
    state.with_suffix(".pending").write_text(json.dumps(now))
    return pricing.refreshed(pairs, schedule, changed)


def mark_built() -> None:
    """After a complete build: the schedule now resolved is the one the marts were built with."""
    state = lake_session.spark_dir() / FINGERPRINTS
    pending = state.with_suffix(".pending")
    if pending.exists():
        built = json.loads(state.read_text()) if state.exists() else {}
        state.write_text(json.dumps({**built, **json.loads(pending.read_text())}))
        pending.unlink()
