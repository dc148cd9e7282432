"""Bootstrap snapshots on the Spark target: the rows of mart_bootstrap_snapshot, as the Spark
build left them in its warehouse (Parquet, read here without Spark), recorded as
bootstrap_metrics records on the lake through the loader (same validation), as
snapshot.record copies them into raw.bootstrap_metrics on PostgreSQL. The lake is
append-only: a period recorded again appends rows with a later measured_at, and staging keeps
the latest snapshot of a period (docs/spark.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.dataset as ds

from asp_telemetry.errors import BuildFailed, NotBuilt
from asp_telemetry.lake.loader import load_records
from asp_telemetry.snapshot import SOURCE, CapabilitySnapshot, SnapshotResult

MART = ("marts.db", "mart_bootstrap_snapshot")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json(value) -> dict:
    if value is None:
        return {}
    return json.loads(value) if isinstance(value, str) else dict(value)


def record(lake: Path, warehouse: Path) -> SnapshotResult:
    """Record the snapshot the last Spark build computed into the lake."""
    directory = warehouse.joinpath(*MART)
    if not directory.is_dir():
        raise NotBuilt(f"{directory} does not exist: build on Spark first (asp-telemetry build --target spark)")
    rows = ds.dataset(directory, format="parquet", exclude_invalid_files=True).to_table().to_pylist()
    measured_at = datetime.now(UTC)
    records = [{
        "record": "bootstrap_metrics",
        "measured_at": measured_at,
        "measurement_period_start": _utc(row["measurement_period_start"]),
        "measurement_period_end": _utc(row["measurement_period_end"]),
        "capability_name": row["capability_name"],
        "capability_mode": row["capability_mode"],
        "tasks_completed": row["tasks_completed"],
        "tasks_required_for_graduation": row["tasks_required_for_graduation"],
        "primary_metric_name": row["primary_metric_name"],
        "primary_metric_value": row["primary_metric_value"],
        "primary_metric_target": row["primary_metric_target"],
        "secondary_metrics_json": _json(row["secondary_metrics_json"]) or None,
        "graduation_criteria_met": row["graduation_criteria_met"],
        "graduation_notes": row["graduation_notes"],
        "metadata": {"source": SOURCE, "direction": row.get("direction")},
    } for row in rows]
    summary = load_records(lake, records, source=SOURCE)
    if not summary.ok or summary.rejected:
        raise BuildFailed(f"recording the snapshot into the lake failed: {summary.line()}")
    capabilities = [CapabilitySnapshot(
        **{name: row.get(name) for name in CapabilitySnapshot.model_fields if name != "secondary_metrics"},
        secondary_metrics=_json(row["secondary_metrics_json"]),
    ) for row in sorted(rows, key=lambda row: row["capability_name"])]
    start = min((r["measurement_period_start"] for r in records), default=measured_at)
    end = max((r["measurement_period_end"] for r in records), default=measured_at)
    return SnapshotResult(start=start, end=end, measured_at=measured_at, capabilities=capabilities, replaced_rows=0)
