"""Bootstrap snapshots on the Spark target: asp_telemetry.snapshot's job with the lake.

The period's models (snapshot.PERIOD_MODELS) are built on Spark; the rows of
mart_bootstrap_snapshot, as that build left them in its warehouse (Parquet, read here without
Spark), are recorded as bootstrap_metrics records on the lake through the loader (same
validation), as snapshot.record copies them into raw.bootstrap_metrics on PostgreSQL. Then
one row for the snapshot itself (its period, measured_at and the load_id of its rows) is
appended to the lake's bootstrap_snapshots dataset, rows or none.

The lake is append-only: a period recorded again appends rows, and the view
raw.bootstrap_metrics (macros/lake_sources.sql) shows of a period's snapshot rows only those
of its last snapshot (the latest load_id among its bootstrap_snapshots rows and its snapshot
rows), as PostgreSQL's snapshot deletes the rows of the earlier ones. A snapshot that
measures nothing thus hides the period's earlier rows too, as PostgreSQL's deletes them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from asp_telemetry import build
from asp_telemetry.build_plan import WITHOUT_UNIT_TESTS
from asp_telemetry.errors import BuildFailed, NotBuilt
from asp_telemetry.lake import paths as lake_paths
from asp_telemetry.lake.files import write_visible
from asp_telemetry.lake.loader import load_records
from asp_telemetry.lake.schemas import SNAPSHOTS_SCHEMA
from asp_telemetry.snapshot import PERIOD_MODELS, SOURCE, CapabilitySnapshot, SnapshotResult, period_vars

MART = ("marts.db", "mart_bootstrap_snapshot")
PERIOD = ("intermediate.db", "int_bootstrap_period")
# The lake dataset of the snapshots taken (schemas.SNAPSHOTS_SCHEMA), one row each.
SNAPSHOTS = "bootstrap_snapshots"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json(value) -> dict:
    if value is None:
        return {}
    return json.loads(value) if isinstance(value, str) else dict(value)


def _read(warehouse: Path, table: tuple[str, str]) -> list[dict]:
    directory = warehouse.joinpath(*table)
    if not directory.is_dir():
        raise NotBuilt(f"{directory} does not exist: build on Spark first (asp-telemetry build --target spark)")
    return ds.dataset(directory, format="parquet", exclude_invalid_files=True).to_table().to_pylist()


def build_or_fail(dbt_args: Sequence[str], what: str) -> build.BuildResult:
    result = build.run_build(None, list(dbt_args), target="spark")
    if not result.success:
        failed = ", ".join(node.label for node in result.failed_nodes) or result.error
        raise BuildFailed(f"building {what} on Spark failed: {failed}")
    return result


def _lake_rows(lake: Path, dataset: str, columns: list[str]) -> list[dict]:
    directory = lake_paths.dataset_dir(lake, dataset)
    if not directory.is_dir():
        return []
    found = ds.dataset(directory, format="parquet", partitioning="hive", exclude_invalid_files=True)
    if not found.files:  # made by the Spark sources before anything was written
        return []
    return found.to_table(columns=columns).to_pylist()


def _current_rows(lake: Path, start: datetime, end: datetime) -> int:
    """The rows of the period's last recorded snapshot: those the view shows now, which the
    snapshot about to be recorded hides (PostgreSQL's replaced rows); none if that last
    snapshot had none."""
    def of_period(row: dict) -> bool:
        return (_utc(row["measurement_period_start"]), _utc(row["measurement_period_end"])) == (start, end)

    rows = [row for row in _lake_rows(lake, "bootstrap_metrics", [
        "measurement_period_start", "measurement_period_end", "metadata", "load_id", "record_key"])
        if of_period(row) and _json(row["metadata"]).get("source") == SOURCE]
    taken = [row["load_id"] for row in _lake_rows(lake, SNAPSHOTS, [
        "measurement_period_start", "measurement_period_end", "load_id"]) if of_period(row)]
    loads = taken + [row["load_id"] for row in rows]
    if not loads:
        return 0
    last = max(loads)
    return len({row["record_key"] for row in rows if row["load_id"] == last})


def _mark_taken(lake: Path, start: datetime, end: datetime, measured_at: datetime, load_id: str) -> None:
    """Append the snapshot's own row to the lake's bootstrap_snapshots (a file of its own,
    made visible whole), after its rows: a snapshot without rows hides the period's earlier
    ones through it alone."""
    table = pa.Table.from_pylist([{
        "measurement_period_start": start, "measurement_period_end": end,
        "measured_at": measured_at, "load_id": load_id,
    }], schema=SNAPSHOTS_SCHEMA)
    directory = lake_paths.partition_dir(lake, SNAPSHOTS, measured_at.date())
    write_visible(table, directory / lake_paths.part_name(load_id, 0))


def record(lake: Path, warehouse: Path) -> SnapshotResult:
    """Record the snapshot the last Spark build computed into the lake: its rows, then its own
    row in bootstrap_snapshots (also when it has none)."""
    period = _read(warehouse, PERIOD)
    rows = _read(warehouse, MART)
    if len(period) != 1:
        raise NotBuilt(f"{warehouse.joinpath(*PERIOD)} holds {len(period)} rows, not one: build on Spark again")
    start, end = _utc(period[0]["period_start"]), _utc(period[0]["period_end"])
    replaced = _current_rows(lake, start, end)
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
        "secondary_metrics_json": _json(row["secondary_metrics_json"]),
        "graduation_criteria_met": row["graduation_criteria_met"],
        "graduation_notes": row["graduation_notes"],
        "metadata": {"source": SOURCE, "direction": row.get("direction")},
    } for row in rows]
    summary = load_records(lake, records, source=SOURCE)
    if not summary.ok or summary.rejected:
        raise BuildFailed(f"recording the snapshot into the lake failed: {summary.line()}")
    _mark_taken(lake, start, end, measured_at, str(summary.load_id))
    capabilities = [CapabilitySnapshot(
        **{name: row.get(name) for name in CapabilitySnapshot.model_fields if name != "secondary_metrics"},
        secondary_metrics=_json(row["secondary_metrics_json"]),
    ) for row in sorted(rows, key=lambda row: row["capability_name"])]
    return SnapshotResult(start=start, end=end, measured_at=measured_at, capabilities=capabilities,
                          replaced_rows=replaced)


def take(lake: Path, warehouse: Path, start: datetime | None = None, end: datetime | None = None, *,
         period_built: bool = False, dbt_args: Sequence[str] = ()) -> SnapshotResult:
    """snapshot.take on Spark: build the period models for [start, end) (default: the 14 days
    ending now) unless the caller's build has just built them for the default period, and
    record the snapshot into the lake."""
    if not period_built or start is not None or end is not None:
        arguments = ["--select", *PERIOD_MODELS, *period_vars(start, end), *WITHOUT_UNIT_TESTS, *dbt_args]
        build_or_fail(arguments, "the snapshot period's models")
    return record(lake, warehouse)
