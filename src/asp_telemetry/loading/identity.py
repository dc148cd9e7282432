"""The identity of a loaded record: what makes two records "the same" so that loading them
again adds nothing (README, "Identities"). Tasks and defects are identified by their primary
keys; cost rows, bootstrap rows and rejects by a 128-bit hash stored as a uuid (`record_key`,
`reject_key`), which unique indexes enforce.

Timestamps are compared as instants (in UTC) and metric values at 4 decimal places (the
specification's scale), so the same record written with another offset or more digits keeps
its identity. Migration 0008 widened the column to 12 places; identities kept 4, so that a
file loaded before the upgrade and again after it still adds nothing. A value the record
does not give (a timestamp the database would default to now()) enters the identity as
absent, so the same line loaded twice is one row.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson

from asp_telemetry.execution import ONCE_PER_EXECUTION
from asp_telemetry.loading import jsontext

# A metric an execution reports once (a total: execution.py says which) is the same row
# whatever its value when reported again for the same execution, so that re-exported spans
# (which may round differently) never count twice. Any other metric type (Memory_Usage and
# the types a team adds to seeds/metric_types.csv) may be observed several times in one
# execution: each distinct observation is a row, and only an identical one is a duplicate.

_SCALE_4 = Decimal("0.0001")
_UTC = UTC


def _key(parts: list[Any]) -> str:
    """128 bits of BLAKE2b as 32 hex digits (PostgreSQL reads them as a uuid)."""
    try:
        data = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits in metadata
        data = jsontext.dumps(parts, sort_keys=True)
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def instant(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(_UTC).isoformat()


def scaled(value: Decimal | None, scale: Decimal = _SCALE_4) -> str | None:
    return None if value is None else str(value.quantize(scale, rounding=ROUND_HALF_UP))


def cost_key(record: dict[str, Any]) -> str:
    """(task, subtask, role, iteration, execution_id, metric_type), plus the row's content
    unless the metric is reported once per execution and the execution has an id."""
    metadata = record.get("metadata")
    execution = metadata.get("execution_id") if metadata else None
    parts: list[Any] = [
        "agent_cost_vector",
        record["task_id"],
        record.get("subtask_id"),
        record["agent_role"],
        record.get("agent_iteration") or 1,
        execution,
        record["metric_type"],
    ]
    if execution is None or record["metric_type"] not in ONCE_PER_EXECUTION:
        parts += [
            instant(record.get("timestamp")),
            scaled(record["metric_value"]),
            record.get("metric_unit"),
            record.get("project_id"),
            record.get("agent_version"),
            record.get("llm_model"),
            record.get("llm_provider"),
            record.get("metadata"),
        ]
    return _key(parts)


def bootstrap_key(record: dict[str, Any]) -> str:
    """(capability, metric, period, measured_at), plus the content when measured_at is absent."""
    parts: list[Any] = [
        "bootstrap_metrics",
        record["capability_name"],
        record["primary_metric_name"],
        instant(record["measurement_period_start"]),
        instant(record["measurement_period_end"]),
        instant(record.get("measured_at")),
    ]
    if record.get("measured_at") is None:
        parts += [
            record["capability_mode"],
            record["tasks_completed"],
            record["tasks_required_for_graduation"],
            scaled(record["primary_metric_value"]),
            scaled(record["primary_metric_target"]),
            record.get("secondary_metrics_json"),
            record.get("graduation_criteria_met"),
            record.get("graduation_notes"),
            record.get("metadata"),
        ]
    return _key(parts)


def reject_key(source_identity: str, position: str, original_text: str) -> str:
    """A reject is the same reject when it is at the same position of the same content."""
    return _key(["rejected_records", source_identity, position, original_text])
