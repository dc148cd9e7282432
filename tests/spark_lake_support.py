"""TEST ONLY: writes native JSON Lines files to a lake as the spark contract lays it out,
until the real lake writer (`asp-telemetry load --target spark`, branch spark-lake) is on
main; then the Spark tests use that instead.

It runs the loader's own parsing and validation (registry, Batcher: the rows the PostgreSQL
loader would stage, record_key identities included) and writes each raw table's valid rows
as Parquet with the contract's columns and types, the lineage columns (loaded_at, load_id,
record_position) and the record_date partitions. Defaults are filled as the contract says
(cost and bootstrap rows only; a task or defect version keeps NULL where its record left a
column out).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from asp_telemetry.loading import vocabulary
from asp_telemetry.loading.batcher import Batcher
from asp_telemetry.loading.formats import registry
from asp_telemetry.loading.limits import Limits
from asp_telemetry.loading.records import RecordValidator
from asp_telemetry.loading.tables import TABLE_LOADS

# The contract's Spark types of the raw columns the records write (macros/lake_sources.sql).
TYPES = {
    "agent_cost_vector": {"timestamp": "timestamp", "agent_iteration": "int", "metric_value": "decimal(24,12)"},
    "task_metadata": {"created_at": "timestamp", "started_at": "timestamp", "completed_at": "timestamp",
                      "estimated_complexity": "int", "actual_complexity": "int", "defect_count": "int",
                      "defect_density": "decimal(5,3)", "human_reviewed": "boolean", "components_affected": None},
    "defect_log": {"created_at": "timestamp", "resolved_at": "timestamp", "line_number": "int",
                   "flagged_by_agent": "boolean", "validated_by_human": "boolean", "false_positive": "boolean"},
    "bootstrap_metrics": {"measured_at": "timestamp", "measurement_period_start": "timestamp",
                          "measurement_period_end": "timestamp", "tasks_completed": "int",
                          "tasks_required_for_graduation": "int", "primary_metric_value": "decimal(10,4)",
                          "primary_metric_target": "decimal(10,4)", "graduation_criteria_met": "boolean"},
}
RECORD_TIME = {"agent_cost_vector": "timestamp", "task_metadata": "created_at", "defect_log": "created_at",
               "bootstrap_metrics": "measured_at"}
FILLED_DEFAULTS = {
    "agent_cost_vector": {"timestamp": "loaded_at", "agent_iteration": 1},
    "bootstrap_metrics": {"measured_at": "loaded_at", "graduation_criteria_met": False},
}


def _value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind.startswith("decimal"):
        scale = int(kind.split(",")[1].rstrip(")"))
        return Decimal(value).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    if kind == "timestamp" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def write_lake(spark: Any, lake: Path, files: list[Path]) -> dict[str, int]:
    """Append each file to the lake as one load; returns the rows written per table."""
    validator = RecordValidator(vocabulary.load())
    written = {table: 0 for table in TABLE_LOADS}
    for path in files:
        loaded_at = datetime.now(UTC)
        load_id = uuid.uuid4().hex
        rows: dict[str, list[tuple]] = {table: [] for table in TABLE_LOADS}
        context = registry.ParseContext(limits=Limits(), roles=validator.vocabulary.roles, langfuse_traces={})
        with path.open("rb") as stream:
            head = stream.read(4096)
            stream.seek(0)
            items = registry.parse(stream, registry.detect_format(head), None, context)
            position = 0
            for batch in Batcher(validator, path.name, 50_000, None).batches(items):
                for table, (direct, _) in batch.direct.items():
                    rows[table] += [(position + row[0], *row[1:]) for row in direct]
                for table, staged in batch.rows.items():
                    rows[table] += [(position + row[0], *row[1:]) for row in staged]
                position += len(batch.items) + 1
        for table, table_rows in rows.items():
            if table_rows:
                written[table] += _write(spark, lake, table, table_rows, loaded_at, load_id)
    return written


def _write(spark: Any, lake: Path, table: str, rows: list[tuple], loaded_at: datetime, load_id: str) -> int:
    load = TABLE_LOADS[table]
    kinds = TYPES[table]
    names = (["record_key"] if load.record_key else []) + [c.name for c in load.columns]
    keep = [name for name in names if kinds.get(name, "string") is not None]
    defaults = FILLED_DEFAULTS.get(table, {})
    out = []
    for row in sorted(rows, key=lambda r: r[0]):
        record = dict(zip(names, row[1:]))
        for name, default in defaults.items():
            if record.get(name) is None:
                record[name] = loaded_at if default == "loaded_at" else default
        if record.get("record_key") is not None:
            record["record_key"] = str(record["record_key"])
        values = [_value(record[name], kinds.get(name, "string")) for name in keep]
        moment = record.get(RECORD_TIME[table])
        moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        record_date = (moment or loaded_at).astimezone(UTC).date()
        out.append((*values, loaded_at, load_id, row[0], record_date))
    schema = ", ".join([f"`{name}` {kinds.get(name, 'string')}" for name in keep]
                       + ["loaded_at timestamp", "load_id string", "record_position bigint", "record_date date"])
    spark.createDataFrame(out, schema).write.mode("append").partitionBy("record_date").parquet(str(lake / table))
    return len(out)
