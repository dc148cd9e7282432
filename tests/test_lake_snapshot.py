"""Recording a bootstrap snapshot into the lake (asp_telemetry.lake.snapshot) without Spark:
the warehouse's two tables are Parquet files written here as a Spark build leaves them, and the
lake is read back with pyarrow. Each snapshot appends its rows (through the loader) and its own
row in bootstrap_snapshots, rows or none; replaced_rows counts what PostgreSQL's snapshot would
delete: the rows of the period's last snapshot (tests/test_spark_pipeline.py runs the same on
real Spark and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from lake_support import rows

from asp_telemetry.lake import snapshot as lake_snapshot
from asp_telemetry.snapshot import SOURCE

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 15, tzinfo=UTC)
TIMESTAMP = pa.timestamp("us", tz="UTC")
MART_SCHEMA = pa.schema([
    ("capability_name", pa.string()), ("capability_mode", pa.string()), ("tasks_completed", pa.int32()),
    ("tasks_required_for_graduation", pa.int32()), ("primary_metric_name", pa.string()),
    ("primary_metric_value", pa.decimal128(10, 4)), ("primary_metric_target", pa.decimal128(10, 4)),
    ("direction", pa.string()), ("graduation_criteria_met", pa.bool_()), ("graduation_notes", pa.string()),
    ("secondary_metrics_json", pa.string()), ("measurement_period_start", TIMESTAMP),
    ("measurement_period_end", TIMESTAMP),
])


def _capability(name: str) -> dict:
    return {
        "capability_name": name, "capability_mode": "Shadow", "tasks_completed": 3,
        "tasks_required_for_graduation": 20, "primary_metric_name": "MAPE", "primary_metric_value": 18,
        "primary_metric_target": 20, "direction": "lower_is_better", "graduation_criteria_met": False,
        "graduation_notes": "3 tasks completed, 20 needed to graduate", "secondary_metrics_json": "{}",
        "measurement_period_start": START, "measurement_period_end": END,
    }


def _built(warehouse: Path, capabilities: list[str]) -> None:
    """The warehouse as a Spark build of the period's models leaves it."""
    for (database, table), data in (
        (lake_snapshot.PERIOD, pa.table({"period_start": pa.array([START], TIMESTAMP),
                                         "period_end": pa.array([END], TIMESTAMP)})),
        (lake_snapshot.MART, pa.Table.from_pylist([_capability(name) for name in capabilities],
                                                  schema=MART_SCHEMA)),
    ):
        directory = warehouse / database / table
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            old.unlink()
        pq.write_table(data, directory / "part-00000.parquet")


def test_a_snapshot_without_rows_is_recorded_and_replaces_what_postgresql_would_delete(tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "warehouse"
    replaced = []
    for capabilities in (["PROBE_AI", "TaskDecomposition"], ["PROBE_AI", "TaskDecomposition"], [], []):
        _built(warehouse, capabilities)
        result = lake_snapshot.record(lake, warehouse)
        assert [c.capability_name for c in result.capabilities] == capabilities
        assert (result.start, result.end) == (START, END)
        replaced.append(result.replaced_rows)
    # PostgreSQL deletes the period's rows before inserting: none, the first's two, the second's
    # two, then none (the third snapshot had none)
    assert replaced == [0, 2, 2, 0]
    recorded = rows(lake, "bootstrap_metrics")
    assert len(recorded) == 4 and all(SOURCE in row["metadata"] for row in recorded)
    taken = rows(lake, lake_snapshot.SNAPSHOTS)
    assert len(taken) == 4
    assert {(row["measurement_period_start"], row["measurement_period_end"]) for row in taken} == {(START, END)}
    # each snapshot's row carries the load of its rows, and sorts after the snapshots before it
    loads = sorted(row["load_id"] for row in taken)
    assert sorted({row["load_id"] for row in recorded}) == loads[:2]
    assert [row["measured_at"] for row in sorted(taken, key=lambda row: row["load_id"])] == sorted(
        row["measured_at"] for row in taken)
