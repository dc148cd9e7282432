"""Pydantic v2 models of the four raw record types.

Each record type is a TypedDict that mirrors its raw table's columns and constraints (lengths,
NOT NULL, CHECKs, integer and numeric ranges); `RecordValidator` adds the seeds' vocabularies
(agent roles, metric types and their units, defect types) and the cross-field rules, and
compiles the four into one discriminated union on `"record"`, so a native JSON line is parsed
and validated in one call into pydantic-core. Validated records are plain dicts: no
per-record objects on the hot path.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired, Union

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from asp_telemetry.loading.types import TIMESTAMP_RANGE, Boolean, Default, Timestamp, integer, numeric
from asp_telemetry.loading.vocabulary import Vocabulary

TABLES = ("agent_cost_vector", "defect_log", "task_metadata", "bootstrap_metrics")
TASK_STATUSES = ("pending", "in_progress", "completed", "failed")
CAPABILITY_MODES = ("Learning", "Shadow", "Autonomous")

_RECORD_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)
DATABASE_COLUMNS = ("id", "execution_date")  # assigned by the database, never in a record


def _text(max_length: int | None = None, required: bool = False) -> Any:
    return Annotated[str, Field(min_length=1 if required else 0, max_length=max_length)]


# What each kind of column accepts (and refuses): types.py. Timestamps need a UTC offset: a
# bare local time would be ambiguous.
NonNegativeInt32 = integer(0)
JsonObject = dict[str, Any]
JsonValue = dict[str, Any] | list[Any]
_numeric = numeric


class AgentCostVectorRecord(TypedDict):
    """One metric of one agent execution (raw.agent_cost_vector)."""

    __pydantic_config__ = _RECORD_CONFIG  # type: ignore[misc]
    record: Literal["agent_cost_vector"]
    timestamp: NotRequired[Annotated[Timestamp | None, Default("now()")]]
    task_id: _text(100, required=True)
    subtask_id: NotRequired[_text(100) | None]
    project_id: NotRequired[_text(100) | None]
    agent_role: _text(50, required=True)
    agent_version: NotRequired[_text(20) | None]
    agent_iteration: NotRequired[Annotated[integer(1) | None, Default("1")]]
    metric_type: _text(50, required=True)
    metric_value: _numeric(24, 12, minimum=Decimal(0))  # migration 0008
    metric_unit: NotRequired[_text(20)]
    llm_model: NotRequired[_text(100) | None]
    llm_provider: NotRequired[_text(50) | None]
    metadata: NotRequired[JsonObject | None]


class DefectLogRecord(TypedDict):
    """One defect (raw.defect_log)."""

    __pydantic_config__ = _RECORD_CONFIG  # type: ignore[misc]
    record: Literal["defect_log"]
    defect_id: _text(50, required=True)
    created_at: NotRequired[Annotated[Timestamp | None, Default("now()")]]
    resolved_at: NotRequired[Timestamp | None]
    task_id: _text(100, required=True)
    project_id: NotRequired[_text(100) | None]
    defect_type: _text(50, required=True)
    severity: NotRequired[_text(20) | None]
    phase_injected: _text(50, required=True)
    phase_removed: _text(50, required=True)
    component_path: NotRequired[str | None]
    function_name: NotRequired[_text(200) | None]
    line_number: NotRequired[NonNegativeInt32 | None]
    effort_to_fix_json: NotRequired[JsonObject | None]
    description: _text(required=True)
    root_cause: NotRequired[str | None]
    resolution_notes: NotRequired[str | None]
    flagged_by_agent: NotRequired[Annotated[Boolean | None, Default("false")]]
    validated_by_human: NotRequired[Annotated[Boolean | None, Default("false")]]
    false_positive: NotRequired[Annotated[Boolean | None, Default("false")]]
    metadata: NotRequired[JsonObject | None]


class TaskMetadataRecord(TypedDict):
    """One task (raw.task_metadata)."""

    __pydantic_config__ = _RECORD_CONFIG  # type: ignore[misc]
    record: Literal["task_metadata"]
    task_id: _text(100, required=True)
    created_at: NotRequired[Annotated[Timestamp | None, Default("now()")]]
    started_at: NotRequired[Timestamp | None]
    completed_at: NotRequired[Timestamp | None]
    project_id: NotRequired[_text(100) | None]
    task_type: NotRequired[_text(50) | None]
    task_description: NotRequired[str | None]
    requirements_text: NotRequired[str | None]
    semantic_units_json: NotRequired[JsonValue | None]
    estimated_complexity: NotRequired[NonNegativeInt32 | None]
    actual_complexity: NotRequired[NonNegativeInt32 | None]
    estimated_cost_vector_json: NotRequired[JsonObject | None]
    actual_cost_vector_json: NotRequired[JsonObject | None]
    defect_count: NotRequired[Annotated[NonNegativeInt32 | None, Default("0")]]
    defect_density: NotRequired[_numeric(5, 3, minimum=Decimal(0)) | None]
    components_affected: NotRequired[list[str] | None]
    bootstrap_phase: NotRequired[_text(20) | None]
    human_reviewed: NotRequired[Annotated[Boolean | None, Default("false")]]
    human_corrections_json: NotRequired[JsonValue | None]
    status: NotRequired[Annotated[Literal[TASK_STATUSES] | None, Default("'pending'")]]  # type: ignore[valid-type]
    metadata: NotRequired[JsonObject | None]


class BootstrapMetricsRecord(TypedDict):
    """One snapshot of a bootstrap-learning capability (raw.bootstrap_metrics)."""

    __pydantic_config__ = _RECORD_CONFIG  # type: ignore[misc]
    record: Literal["bootstrap_metrics"]
    measured_at: NotRequired[Annotated[Timestamp | None, Default("now()")]]
    measurement_period_start: Timestamp
    measurement_period_end: Timestamp
    capability_name: _text(50, required=True)
    capability_mode: Literal[CAPABILITY_MODES]  # type: ignore[valid-type]
    tasks_completed: NonNegativeInt32
    tasks_required_for_graduation: integer(1)
    primary_metric_name: _text(50, required=True)
    primary_metric_value: _numeric(10, 4)
    primary_metric_target: _numeric(10, 4)
    secondary_metrics_json: NotRequired[JsonObject | None]
    graduation_criteria_met: NotRequired[Annotated[Boolean | None, Default("false")]]
    graduation_notes: NotRequired[str | None]
    metadata: NotRequired[JsonObject | None]


RECORD_TYPES: dict[str, type] = {
    "agent_cost_vector": AgentCostVectorRecord,
    "defect_log": DefectLogRecord,
    "task_metadata": TaskMetadataRecord,
    "bootstrap_metrics": BootstrapMetricsRecord,
}


class RecordError(ValueError):
    """A record that cannot be loaded; the message is the reason stored with the reject."""


def _ordered(first: datetime | None, second: datetime | None) -> bool:
    return first is None or second is None or first <= second


class RecordValidator:
    """Validates records of all four types against the schema and a vocabulary."""

    def __init__(self, vocabulary: Vocabulary):
        self.vocabulary = vocabulary
        self._roles = vocabulary.roles
        self._units = vocabulary.metric_units
        self._defect_types = vocabulary.defect_types
        union = Union[  # noqa: UP007 - a union of validators built at run time
            Annotated[AgentCostVectorRecord, AfterValidator(self._check_cost)],
            Annotated[DefectLogRecord, AfterValidator(self._check_defect)],
            Annotated[TaskMetadataRecord, AfterValidator(self._check_task)],
            Annotated[BootstrapMetricsRecord, AfterValidator(self._check_bootstrap)],
        ]
        self._adapter: TypeAdapter = TypeAdapter(Annotated[union, Field(discriminator="record")])
        # The compiled validator itself, for the hot path (raises pydantic's ValidationError;
        # `describe` turns it into the reject's reason).
        self.validate_json_fast = self._adapter.validator.validate_json

    # -- the entry point (native lines on the hot path: validate_json_fast) ------------------
    def validate(self, record: dict[str, Any]) -> dict[str, Any]:
        """Validate one record given as a dict with its "record" key."""
        try:
            return self._adapter.validate_python(record)
        except ValidationError as exc:
            raise RecordError(describe(exc)) from None

    # -- vocabularies and cross-field rules -------------------------------------------------
    def _role(self, column: str, value: str) -> None:
        if value not in self._roles:
            raise ValueError(
                f"{column}: unknown agent role {value!r} (known: {', '.join(sorted(self._roles))}; "
                "add it to seeds/agent_roles.csv)"
            )

    def _check_cost(self, record: dict[str, Any]) -> dict[str, Any]:
        self._role("agent_role", record["agent_role"])
        metric_type = record["metric_type"]
        unit = self._units.get(metric_type)
        if unit is None:
            raise ValueError(
                f"metric_type: unknown metric type {metric_type!r} (known: {', '.join(sorted(self._units))}; "
                "add it to seeds/metric_types.csv)"
            )
        given = record.get("metric_unit")
        if given is None:
            record["metric_unit"] = unit
        elif given != unit:
            raise ValueError(f"metric_unit: {metric_type} is measured in {unit!r}, not {given!r}")
        return record

    def _check_defect(self, record: dict[str, Any]) -> dict[str, Any]:
        if record["defect_type"] not in self._defect_types:
            raise ValueError(
                f"defect_type: unknown defect type {record['defect_type']!r} (add it to seeds/defect_types.csv)"
            )
        self._role("phase_injected", record["phase_injected"])
        self._role("phase_removed", record["phase_removed"])
        if record["phase_injected"] == record["phase_removed"]:
            raise ValueError(
                f"phase_removed: a defect cannot be injected and removed in the same phase ({record['phase_removed']})"
            )
        if not _ordered(record.get("created_at"), record.get("resolved_at")):
            raise ValueError("resolved_at: earlier than created_at")
        return record

    def _check_task(self, record: dict[str, Any]) -> dict[str, Any]:
        if not _ordered(record.get("started_at"), record.get("completed_at")):
            raise ValueError("completed_at: earlier than started_at")
        return record

    def _check_bootstrap(self, record: dict[str, Any]) -> dict[str, Any]:
        if record["measurement_period_end"] < record["measurement_period_start"]:
            raise ValueError("measurement_period_end: earlier than measurement_period_start")
        return record


def describe(exc: ValidationError) -> str:
    """One readable line naming each problem and the column it is in."""
    problems = []
    for error in exc.errors(include_url=False):
        kind, loc, message = error["type"], error["loc"], error["msg"]
        # loc starts with the union tag (the record type); the rest is the column path.
        column = ".".join(str(part) for part in loc[1:]) if len(loc) > 1 else ""
        if kind == "json_invalid":
            problems.append(f"not valid JSON ({error['ctx']['error']})")
        elif kind in {"dict_type", "model_type", "typed_dict_type"} and not column:
            problems.append(f"not a JSON object (a {type(error['input']).__name__})")
        elif kind == "union_tag_not_found":
            problems.append(f'no "record" key naming the table (one of {", ".join(TABLES)})')
        elif kind == "union_tag_invalid":
            problems.append(f"unknown record type {error['ctx']['tag']!r} (expected one of {', '.join(TABLES)})")
        elif kind == "missing":
            problems.append(f"{column}: required, missing")
        elif kind == "extra_forbidden":
            known = column in DATABASE_COLUMNS
            problems.append(f"{column}: {'assigned by the database, leave it out' if known else 'unknown column'}")
        elif kind in ("greater_than_equal", "less_than_equal") and _is_time_bound(error.get("ctx") or {}):
            problems.append(f"{column}: input should be {TIMESTAMP_RANGE} (got {_short(error['input'])})")
        elif kind == "decimal_type":
            problems.append(f"{column}: input should be a number (got {_short(error.get('input'))})")
        elif kind == "value_error":
            problems.append(str(error["ctx"]["error"]))
        else:
            shown = error.get("input")
            value = f" (got {_short(shown)})" if not isinstance(shown, (dict, list)) else ""
            problems.append(f"{column}: {message[0].lower()}{message[1:]}{value}")
    return "; ".join(problems)


def _is_time_bound(context: dict[str, Any]) -> bool:
    bound = context.get("ge", context.get("le"))
    return isinstance(bound, datetime) or str(bound).startswith(("0001-01-01", "9999-12-31"))


def _short(value: Any) -> str:
    text = repr(value.isoformat()) if isinstance(value, datetime) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
