"""Builders of native records and queries of what a load left in the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asp_telemetry import connection
from asp_telemetry.connection import ConnectionInfo


def cost(metric_type: str = "Latency", value: Any = 1200.5, **fields: Any) -> dict[str, Any]:
    units = {"Latency": "ms", "Tokens_In": "tokens", "Tokens_Out": "tokens", "API_Cost": "USD",
             "Memory_Usage": "MB", "Tool_Calls": "count", "Retries": "count"}
    record = {
        "record": "agent_cost_vector",
        "timestamp": "2026-01-05T10:00:00+00:00",
        "task_id": "T-1",
        "agent_role": "Code",
        "agent_iteration": 1,
        "metric_type": metric_type,
        "metric_value": value,
        "metric_unit": units.get(metric_type, "count"),
        "llm_model": "claude-sonnet-4",
        "llm_provider": "anthropic",
        "metadata": {"execution_id": "E-1"},
    }
    record.update(fields)
    return _present(record)


def _present(record: dict[str, Any]) -> dict[str, Any]:
    """Builders take `column=...` (Ellipsis) to leave a column out."""
    return {k: v for k, v in record.items() if v is not ...}


def task(task_id: str = "T-1", **fields: Any) -> dict[str, Any]:
    return _present({"record": "task_metadata", "task_id": task_id, "project_id": "P-1", **fields})


def defect(defect_id: str = "D-1", **fields: Any) -> dict[str, Any]:
    return _present({
        "record": "defect_log",
        "defect_id": defect_id,
        "task_id": "T-1",
        "defect_type": "4_Hallucination",
        "phase_injected": "Code",
        "phase_removed": "Test",
        "description": "imported a library that does not exist",
        **fields,
    })


def bootstrap(**fields: Any) -> dict[str, Any]:
    return _present({
        "record": "bootstrap_metrics",
        "measured_at": "2026-01-08T00:00:00Z",
        "measurement_period_start": "2026-01-01T00:00:00Z",
        "measurement_period_end": "2026-01-08T00:00:00Z",
        "capability_name": "PROBE_AI",
        "capability_mode": "Shadow",
        "tasks_completed": 15,
        "tasks_required_for_graduation": 20,
        "primary_metric_name": "MAPE",
        "primary_metric_value": 18.2,
        "primary_metric_target": 20,
        **fields,
    })


def jsonl(path: Path, lines: list[Any]) -> Path:
    """Write records (dicts) or raw lines (str) as JSON Lines."""
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


def query(info: ConnectionInfo, sql: str, *params: Any) -> list[tuple]:
    with connection.connect(info) as conn:
        return conn.execute(sql, params or None).fetchall()


def count(info: ConnectionInfo, table: str) -> int:
    return query(info, f"select count(*) from raw.{table}")[0][0]


def rejects(info: ConnectionInfo) -> list[tuple]:
    """(position, record_type, reason, original_text), in input order."""
    return query(
        info, "select position, record_type, reason, original_text from raw.rejected_records order by line_number, id"
    )
