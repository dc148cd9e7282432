"""Task and defect records from the SDK (create or update a task; log a defect)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from asp_telemetry.sdk import delivery

# Friendly argument names for the raw columns that end in _json.
_RENAMED = {
    "semantic_units": "semantic_units_json",
    "estimated_cost_vector": "estimated_cost_vector_json",
    "human_corrections": "human_corrections_json",
    "effort_to_fix": "effort_to_fix_json",
}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    return {_RENAMED.get(name, name): _iso(value) for name, value in fields.items() if value is not None}


def record_task(
    task_id: str,
    *,
    project_id: str | None = None,
    task_type: str | None = None,
    task_description: str | None = None,
    requirements_text: str | None = None,
    semantic_units: dict | list | None = None,
    estimated_complexity: int | None = None,
    actual_complexity: int | None = None,
    estimated_cost_vector: dict | None = None,
    components_affected: list[str] | None = None,
    bootstrap_phase: str | None = None,
    human_reviewed: bool | None = None,
    human_corrections: dict | None = None,
    status: str | None = None,
    created_at: datetime | None = None,
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    metadata: dict | None = None,
) -> None:
    """Create a task, or update it (the loader keeps the fields a later record brings)."""
    fields = dict(locals())
    record = {"record": "task_metadata", **_columns(fields)}
    if status == "completed" and completed_at is None:
        record["completed_at"] = datetime.now(UTC).isoformat()
    if status == "in_progress" and started_at is None:
        record["started_at"] = datetime.now(UTC).isoformat()
    if status not in (None, "pending", "in_progress", "completed", "failed"):
        delivery.count_error(f"task {task_id}: status {status!r} is not pending, in_progress, completed "
                                  "or failed; the loader will reject it into raw.rejected_records")
    delivery.writer().submit(record)


def record_defect(
    task_id: str,
    defect_type: str,
    phase_injected: str,
    phase_removed: str,
    description: str,
    *,
    defect_id: str | None = None,
    project_id: str | None = None,
    severity: str | None = None,
    component_path: str | None = None,
    function_name: str | None = None,
    line_number: int | None = None,
    effort_to_fix: dict | None = None,
    root_cause: str | None = None,
    resolution_notes: str | None = None,
    flagged_by_agent: bool | None = None,
    validated_by_human: bool | None = None,
    false_positive: bool | None = None,
    created_at: datetime | None = None,
    resolved_at: datetime | None = None,
    metadata: dict | None = None,
) -> str:
    """Log a defect; returns its id (generated when not given). Send it again with the same id
    to record its resolution."""
    defect_id = defect_id or f"D-{uuid.uuid4().hex}"
    fields = dict(locals())
    record = {"record": "defect_log", **_columns(fields)}
    record.setdefault("created_at", datetime.now(UTC).isoformat())
    if phase_injected == phase_removed:
        delivery.count_error(f"defect {defect_id}: injected and removed in the same phase {phase_injected}; "
                                  "the loader will reject it into raw.rejected_records")
    delivery.writer().submit(record)
    return defect_id
