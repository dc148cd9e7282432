"""Langfuse observations and traces into cost rows and defects.

Reads public-API pages (`{"data": [...], "meta": {...}}` from GET /api/public/observations
and /traces), JSON arrays, JSON Lines and CSV exports of observations, with the API's
camelCase names or the blob-storage export's snake_case names. The whole input is read
before executions are built (an execution's generations may come anywhere in it). Traces
seen in earlier inputs of the same load supply task ids (give the traces export first).

Mapping: README, "Langfuse".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

import orjson

from asp_telemetry.loading.formats import FormatError, Item

SNAKE_TO_CAMEL = {
    "trace_id": "traceId",
    "parent_observation_id": "parentObservationId",
    "start_time": "startTime",
    "end_time": "endTime",
    "usage_details": "usageDetails",
    "cost_details": "costDetails",
    "provided_model_name": "providedModelName",
    "status_message": "statusMessage",
    "total_cost": "totalCost",
    "session_id": "sessionId",
    "user_id": "userId",
}
JSON_FIELDS = ("metadata", "usageDetails", "costDetails", "usage")
OBSERVATION_TYPES = frozenset({
    "SPAN", "GENERATION", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING", "GUARDRAIL",
})
DEFECT_FIELDS = ("defect_id", "defect_type", "phase_injected", "phase_removed")
DEFECT_OPTIONAL = (
    "severity", "component_path", "function_name", "line_number", "effort_to_fix_json", "root_cause",
    "resolution_notes", "flagged_by_agent", "validated_by_human", "false_positive", "resolved_at",
)


@dataclass
class Observation:
    data: dict[str, Any]
    line: int | None
    position: str
    text: bytes | str
    children: list[Observation] = field(default_factory=list)

    @property
    def id(self) -> str | None:
        return self.data.get("id")

    @property
    def type(self) -> str:
        return str(self.data.get("type") or "").upper()

    @property
    def metadata(self) -> dict[str, Any]:
        return self.data.get("metadata") or {}


def _normalise(raw: dict[str, Any]) -> dict[str, Any]:
    data = {SNAKE_TO_CAMEL.get(key, key): value for key, value in raw.items()}
    for name in JSON_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            try:
                data[name] = orjson.loads(value) if value.strip() else None
            except orjson.JSONDecodeError:
                data[name] = {"value": value} if name == "metadata" else None
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {} if data.get("metadata") in (None, "") else {"value": data["metadata"]}
    return data


def _is_observation(data: dict[str, Any]) -> bool:
    return str(data.get("type") or "").upper() in OBSERVATION_TYPES or "startTime" in data


def _entries(stream: BinaryIO) -> Iterator[tuple[int | None, str, Any, bytes | str, str | None]]:
    """(line, position, object, text, error) for every trace or observation in the input."""
    data = stream.read()
    stripped = data.lstrip(b"\xef\xbb\xbf").lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            document = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("data"), list):
            for index, entry in enumerate(document["data"]):
                yield None, f"data[{index}]", entry, orjson.dumps(entry), None
            return
        if isinstance(document, list):
            for index, entry in enumerate(document):
                yield None, f"[{index}]", entry, orjson.dumps(entry), None
            return
        if isinstance(document, dict):
            yield 1, "line 1", document, stripped, None
            return
        for number, line in enumerate(data.split(b"\n"), 1):  # JSON Lines
            if not line.strip():
                continue
            line = line.rstrip(b"\r")
            try:
                yield number, f"line {number}", orjson.loads(line), line, None
            except orjson.JSONDecodeError as exc:
                yield number, f"line {number}", None, line, f"not valid JSON ({exc})"
        return
    yield from _csv_entries(data)


def _csv_entries(data: bytes) -> Iterator[tuple[int | None, str, Any, bytes | str, str | None]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"a Langfuse CSV export must be UTF-8 ({exc})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    previous_end = 1
    for row in reader:
        line = previous_end + 1
        previous_end = reader.line_num
        values = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        if not values:
            continue
        yield line, f"line {line}", values, ",".join(row.get(k) or "" for k in reader.fieldnames or []), None


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _time(value: Any) -> datetime | None:
    """Langfuse times: ISO 8601 from the API, `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) from exports."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse(stream: BinaryIO, traces: dict[str, dict[str, Any]], roles: frozenset[str]) -> Iterator[Item]:
    """`traces` (trace id -> metadata) is shared by the inputs of one load."""
    observations: list[Observation] = []
    for line, position, entry, text, error in _entries(stream):
        if error is not None:
            yield Item(line, text, None, error=error, position=position)
            continue
        if not isinstance(entry, dict):
            yield Item(
                line,
                text or orjson.dumps(entry),
                None,
                error="not a Langfuse observation or trace object",
                position=position,
            )
            continue
        data = _normalise(entry)
        if _is_observation(data):
            observations.append(Observation(data, line, position, text))
            continue
        if data.get("id"):  # a trace
            traces[str(data["id"])] = data["metadata"]
            for nested in data.get("observations") or []:
                if isinstance(nested, dict):  # GET /traces/{id} embeds full observations
                    observations.append(Observation(_normalise(nested), line, position, orjson.dumps(nested)))
            continue
        yield Item(
            line,
            text or orjson.dumps(entry),
            None,
            error="neither an observation (no type or startTime) nor a trace (no id)",
            position=position,
        )
    by_id = {o.id: o for o in observations if o.id}
    for observation in by_id.values():
        parent = by_id.get(observation.data.get("parentObservationId"))
        if parent is not None and parent is not observation:
            parent.children.append(observation)
    for observation in by_id.values():
        if _is_agent(observation, roles):
            yield _execution(observation, traces, roles)
        if any(key in observation.metadata for key in ("defect_id", "defect_type")):
            yield _defect(observation, traces)


def _role(observation: Observation) -> Any:
    return observation.metadata.get("agent_role") or observation.data.get("name")


def _is_agent(observation: Observation, roles: frozenset[str]) -> bool:
    if observation.type == "AGENT":
        return True
    return observation.type == "SPAN" and (
        observation.data.get("name") in roles or observation.metadata.get("agent_role") in roles
    )


def _context(observation: Observation, traces: dict[str, dict[str, Any]], key: str) -> Any:
    """A metadata key of the observation, else of its trace; ids given as numbers become text."""
    value = observation.metadata.get(key)
    if value in (None, ""):
        value = (traces.get(str(observation.data.get("traceId"))) or {}).get(key)
    if value in (None, ""):
        return None
    return (
        str(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "agent_iteration"
        else value
    )


@dataclass
class _Below:
    generations: list[Observation] = field(default_factory=list)
    tools: int = 0


def _walk(observation: Observation, below: _Below, roles: frozenset[str]) -> None:
    """Descendants that belong to this execution (nested agents are executions of their own)."""
    for child in observation.children:
        if _is_agent(child, roles):
            continue
        if child.type == "GENERATION":
            below.generations.append(child)
        elif child.type == "TOOL":
            below.tools += 1
        _walk(child, below, roles)


def _sum(values: list[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def _usage(generation: Observation, key: str) -> Decimal | None:
    details = generation.data.get("usageDetails") or {}
    value = details.get(key) if isinstance(details, dict) else None
    if value is None:  # the older `usage` object
        usage = generation.data.get("usage") or {}
        value = usage.get(key) if isinstance(usage, dict) else None
    return _number(value)


def _cost(generation: Observation) -> Decimal | None:
    details = generation.data.get("costDetails") or {}
    value = details.get("total") if isinstance(details, dict) else None
    return _number(value if value is not None else generation.data.get("totalCost"))


def _execution(agent: Observation, traces: dict[str, dict[str, Any]], roles: frozenset[str]) -> Item:
    data, meta = agent.data, agent.metadata
    text = agent.text
    start, end = _time(data.get("startTime")), _time(data.get("endTime"))
    if start is None:
        return Item(
            agent.line,
            text,
            None,
            error="startTime: missing or not a timestamp",
            position=agent.position,
            record_type="agent_cost_vector",
        )
    below = _Below()
    _walk(agent, below, roles)
    metrics: list[tuple[str, Any]] = []
    if below.generations:
        latency = Decimal((end - start).total_seconds() * 1000).quantize(Decimal("0.001")) if end else None
        tokens_in = _sum([_usage(g, "input") for g in below.generations])
        tokens_out = _sum([_usage(g, "output") for g in below.generations])
        cost = _sum([_cost(g) for g in below.generations])
        ordered = sorted(below.generations, key=lambda g: _time(g.data.get("startTime")) or start)
        models = [g.data.get("model") or g.data.get("providedModelName") for g in ordered]
        model = next((m for m in models if m), None) or meta.get("llm_model")
    else:  # the specification's mapping: the agent span carries its own numbers
        latency = _number(meta.get("latency_ms"))
        if latency is None and end is not None:
            latency = Decimal((end - start).total_seconds() * 1000).quantize(Decimal("0.001"))
        tokens_in, tokens_out = _number(meta.get("tokens_in")), _number(meta.get("tokens_out"))
        cost = _number(meta.get("api_cost_usd"))
        model = meta.get("llm_model") or data.get("model")
    for metric, value in (
        ("Latency", latency),
        ("Tokens_In", tokens_in),
        ("Tokens_Out", tokens_out),
        ("API_Cost", cost),
    ):
        if value is not None:
            metrics.append((metric, value))
    metrics.append(("Tool_Calls", below.tools))
    metadata: dict[str, Any] = {
        "execution_id": agent.id,
        "trace_id": data.get("traceId"),
        "observation_id": agent.id,
        "source": "langfuse",
    }
    if str(data.get("level") or "").upper() == "ERROR":
        metadata["status"] = "error"
        if data.get("statusMessage"):
            metadata["status_message"] = data["statusMessage"]
    iteration = _context(agent, traces, "agent_iteration")
    base = {
        "record": "agent_cost_vector",
        "timestamp": start,
        "task_id": _context(agent, traces, "task_id") or data.get("traceId"),
        "subtask_id": _context(agent, traces, "subtask_id"),
        "project_id": _context(agent, traces, "project_id"),
        "agent_role": _role(agent),
        "agent_version": meta.get("agent_version") or data.get("version"),
        "agent_iteration": 1 if iteration is None else iteration,
        "llm_model": model,
        "llm_provider": meta.get("llm_provider"),
        "metadata": metadata,
    }
    records = [{**base, "metric_type": metric, "metric_value": value} for metric, value in metrics]
    return Item(agent.line, text, records, position=agent.position, record_type="agent_cost_vector")


def _defect(observation: Observation, traces: dict[str, dict[str, Any]]) -> Item:
    meta, data = observation.metadata, observation.data
    text = observation.text
    missing = [name for name in DEFECT_FIELDS if meta.get(name) in (None, "")]
    if missing:
        return Item(
            observation.line, text, None, position=observation.position, record_type="defect_log",
            error=f"a defect needs {', '.join(DEFECT_FIELDS)} in its metadata; missing: {', '.join(missing)}",
        )
    record: dict[str, Any] = {
        "record": "defect_log",
        "defect_id": meta["defect_id"],
        "task_id": _context(observation, traces, "task_id") or data.get("traceId"),
        "project_id": _context(observation, traces, "project_id"),
        "defect_type": meta["defect_type"],
        "phase_injected": meta["phase_injected"],
        "phase_removed": meta["phase_removed"],
        "description": meta.get("description") or data.get("statusMessage") or data.get("name"),
        "created_at": meta.get("created_at") or data.get("startTime"),
        "metadata": {"observation_id": observation.id, "trace_id": data.get("traceId"), "source": "langfuse"},
    }
    for name in DEFECT_OPTIONAL:
        if meta.get(name) not in (None, ""):
            record[name] = meta[name]
    if isinstance(record.get("effort_to_fix_json"), str):  # exports flatten metadata to text
        try:
            record["effort_to_fix_json"] = orjson.loads(record["effort_to_fix_json"])
        except orjson.JSONDecodeError:
            pass
    if isinstance(record["created_at"], str):
        record["created_at"] = _time(record["created_at"]) or record["created_at"]
    if isinstance(record.get("resolved_at"), str):
        record["resolved_at"] = _time(record["resolved_at"]) or record["resolved_at"]
    return Item(observation.line, text, [record], position=observation.position, record_type="defect_log")
