"""Langfuse observations and traces into cost rows and defects.

Reads public-API pages (`{"data": [...], "meta": {...}}` from GET /api/public/observations
and /traces), JSON arrays, JSON Lines and CSV exports of observations, with the API's
camelCase names or the blob-storage export's snake_case names. The whole input is read
before executions are built (an execution's generations may come anywhere in it), so its size
is bounded (--max-document-bytes). Trees are walked iteratively; a trace whose parents form a
cycle is rejected whole. Traces seen in earlier inputs of the same load supply task ids (give
the traces export first).

Mapping: README, "Langfuse".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

import orjson

from asp_telemetry.execution import Execution
from asp_telemetry.loading.formats import FormatError, Item, dumps_original
from asp_telemetry.loading.formats.csv import iter_records as csv_records
from asp_telemetry.loading.formats.lines import Prefixed, bounded_lines, document_too_large, strip_break

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
    text: bytes
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


Entry = tuple[int | None, str, Any, bytes, str | None]  # (line, position, object, text, error)


def _entries(stream: BinaryIO, max_bytes: int) -> Iterator[Entry]:
    """(line, position, object, text, error) for every trace or observation in the input: a
    JSON document (an API page or an array) read whole, JSON Lines read line by line, or CSV
    read row by row. At most max_bytes in all: the observations are held to assemble trees."""
    first = stream.readline(max_bytes + 1)
    stripped = first.lstrip(b"\xef\xbb\xbf").lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            single = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            single = None
        if isinstance(single, dict) and not isinstance(single.get("data"), list):  # JSON Lines
            yield from _json_lines(first, stream, max_bytes)
            return
        data = first + stream.read(max_bytes + 1 - len(first))
        if len(data) > max_bytes:
            raise document_too_large("Langfuse input", max_bytes)
        stripped = data.lstrip(b"\xef\xbb\xbf").lstrip()
        try:
            document = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("data"), list):
            for index, entry in enumerate(document["data"]):
                yield None, f"data[{index}]", entry, dumps_original(entry), None
            return
        if isinstance(document, list):
            for index, entry in enumerate(document):
                yield None, f"[{index}]", entry, dumps_original(entry), None
            return
        if isinstance(document, dict):
            yield 1, "line 1", document, strip_break(stripped), None
            return
        for number, line in enumerate(data.split(b"\n"), 1):  # JSON Lines with a broken first line
            yield from _json_line(number, line)
        return
    yield from _csv_entries(first, stream, max_bytes)


def _json_line(number: int, line: bytes) -> Iterator[Entry]:
    line = strip_break(line)
    if not line.strip():
        return
    try:
        yield number, f"line {number}", orjson.loads(line), line, None
    except orjson.JSONDecodeError as exc:
        yield number, f"line {number}", None, line, f"not valid JSON ({exc})"


def _json_lines(first: bytes, stream: BinaryIO, max_bytes: int) -> Iterator[Entry]:
    for number, line in bounded_lines(first, stream, max_bytes, "a Langfuse line", "Langfuse input"):
        yield from _json_line(number, line)


def _csv_entries(first: bytes, stream: BinaryIO, max_bytes: int) -> Iterator[Entry]:
    """A CSV export, row by row: a row that is not UTF-8 or not CSV costs itself."""
    records = csv_records(Prefixed(first, stream), max_bytes)
    header_record = next(records, None)
    if header_record is None:
        return
    if header_record.row is None or header_record.invalid:
        problem = header_record.error or header_record.invalid
        raise FormatError(f"cannot read the header of a Langfuse CSV export ({problem})")
    header = [name.strip() for name in header_record.row]
    if header:
        header[0] = header[0].lstrip("\ufeff")
    total = 0
    for record in records:
        original = record.original()
        total += len(original)
        if total > max_bytes:
            raise document_too_large("Langfuse input", max_bytes)
        line = record.first
        if record.row is None or record.invalid:
            yield line, f"line {line}", None, original, record.error or f"not valid UTF-8: {record.invalid}"
            continue
        values = {k: v for k, v in zip(header, record.row) if v != ""}
        if not values:
            continue
        yield line, f"line {line}", values, original, None


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


def parse(stream: BinaryIO, traces: dict[str, dict[str, Any]], roles: frozenset[str],
          max_document_bytes: int) -> Iterator[Item]:
    """`traces` (trace id -> metadata) is shared by the inputs of one load."""
    observations: list[Observation] = []
    for line, position, entry, text, error in _entries(stream, max_document_bytes):
        if error is not None:
            yield Item(line, text, None, error=error, position=position)
            continue
        if not isinstance(entry, dict):
            yield Item(line, text, None, error="not a Langfuse observation or trace object", position=position)
            continue
        data = _normalise(entry)
        if _is_observation(data):
            observations.append(Observation(data, line, position, text))
            continue
        if _key(data.get("id")):  # a trace
            traces[_key(data["id"])] = data["metadata"]
            nested_observations = data.get("observations")
            for index, nested in enumerate(nested_observations if isinstance(nested_observations, list) else []):
                if isinstance(nested, dict):  # GET /traces/{id} embeds full observations
                    observations.append(Observation(_normalise(nested), line, f"{position}, observations[{index}]",
                                                    dumps_original(nested)))
            continue
        yield Item(line, text, None, error="neither an observation (no type or startTime) nor a trace (no id)",
                   position=position)
    by_id = {_key(o.id): o for o in observations if _key(o.id)}
    broken = _link(by_id)
    members: dict[str, list[Observation]] = {}
    if broken:
        for observation in by_id.values():
            trace_id = _key(observation.data.get("traceId")) or ""
            if trace_id in broken:
                members.setdefault(trace_id, []).append(observation)
    for observation in by_id.values():
        trace_id = _key(observation.data.get("traceId")) or ""
        if trace_id in broken:
            if trace_id in members:
                yield _broken_trace(trace_id, broken[trace_id], members.pop(trace_id))
            continue
        try:
            items = []
            if _is_agent(observation, roles):
                items.append(_execution(observation, traces, roles))
            if any(key in observation.metadata for key in ("defect_id", "defect_type")):
                defect = _defect(observation, traces)
                if items:  # the same observation is an execution too: a position of its own
                    defect.position = f"{observation.position}, defect"
                items.append(defect)
        except Exception as exc:  # noqa: BLE001 - one observation costs itself, never the file
            items = [Item(observation.line, observation.text, None, position=observation.position,
                          error=f"cannot be mapped ({type(exc).__name__}: {exc})")]
        yield from items


def _key(value: Any) -> str | None:
    """An id as text (ids given as numbers are the same ids); None for anything else."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _link(by_id: dict[str, Observation]) -> dict[str, list[str]]:
    """Attach each observation to its parent; returns the traces whose parents form a cycle
    (trace id -> the observations that no root reaches)."""
    roots = []
    for observation in by_id.values():
        parent = by_id.get(_key(observation.data.get("parentObservationId")) or "")
        if parent is None:
            roots.append(observation)
        else:
            parent.children.append(observation)
    reached: set[int] = set()
    stack = list(roots)
    while stack:  # iteratively: a chain of any depth
        observation = stack.pop()
        reached.add(id(observation))
        stack.extend(observation.children)
    broken: dict[str, list[str]] = {}
    for key, observation in by_id.items():
        if id(observation) not in reached:
            broken.setdefault(_key(observation.data.get("traceId")) or "", []).append(key)
    return broken


def _broken_trace(trace_id: str, in_cycle: list[str], members: list[Observation]) -> Item:
    first = members[0]
    shown = ", ".join(in_cycle[:4]) + (f" and {len(in_cycle) - 4} more" if len(in_cycle) > 4 else "")
    return Item(
        first.line, dumps_original([o.data for o in members[:1000]]), None, position=f"trace {trace_id or '(none)'}",
        error=f"the parents of observations {shown} form a cycle: the trace cannot be mapped and is rejected whole",
    )


def _role(observation: Observation) -> Any:
    return observation.metadata.get("agent_role") or observation.data.get("name")


def _is_agent(observation: Observation, roles: frozenset[str]) -> bool:
    if observation.type == "AGENT":
        return True
    name, role = observation.data.get("name"), observation.metadata.get("agent_role")
    return observation.type == "SPAN" and (
        (isinstance(name, str) and name in roles) or (isinstance(role, str) and role in roles)
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


def _walk(agent: Observation, below: _Below, roles: frozenset[str]) -> None:
    """Descendants that belong to this execution (nested agents are executions of their own),
    iteratively (a chain of any depth; the tree has no cycle: _link rejected those)."""
    stack = list(agent.children)
    while stack:
        child = stack.pop()
        if _is_agent(child, roles):
            continue
        if child.type == "GENERATION":
            below.generations.append(child)
        elif child.type == "TOOL":
            below.tools += 1
        stack.extend(child.children)


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


# Langfuse's usageDetails keys for the input tokens read from / written to the provider's
# prompt cache. Langfuse totals a generation as the sum of its keys, so its `input` holds the
# uncached input only; Tokens_In counts all of it (the GenAI conventions' input tokens), the
# cache tokens once: input + cache reads + cache writes.
CACHE_READ_KEYS = ("cache_read_input_tokens", "input_cached_tokens", "input_cache_read")
CACHE_WRITE_KEYS = ("cache_creation_input_tokens", "input_cache_creation", "input_cache_write")


def _cache(generation: Observation, keys: tuple[str, ...]) -> Decimal | None:
    return _sum([_usage(generation, key) for key in keys])


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
    if below.generations:
        latency = Decimal((end - start).total_seconds() * 1000).quantize(Decimal("0.001")) if end else None
        cache_read = _sum([_cache(g, CACHE_READ_KEYS) for g in below.generations])
        cache_write = _sum([_cache(g, CACHE_WRITE_KEYS) for g in below.generations])
        tokens_in = _sum([_usage(g, "input") for g in below.generations] + [cache_read, cache_write])
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
        cache_read = cache_write = None
        cost = _number(meta.get("api_cost_usd"))
        model = meta.get("llm_model") or data.get("model")
    metadata: dict[str, Any] = {"trace_id": data.get("traceId"), "observation_id": agent.id, "source": "langfuse"}
    if str(data.get("level") or "").upper() == "ERROR":
        metadata["status"] = "error"
        if data.get("statusMessage"):
            metadata["status_message"] = data["statusMessage"]
    records = Execution(
        task_id=_context(agent, traces, "task_id") or data.get("traceId"),
        agent_role=_role(agent),
        execution_id=agent.id,
        timestamp=start,
        subtask_id=_context(agent, traces, "subtask_id"),
        project_id=_context(agent, traces, "project_id"),
        agent_version=meta.get("agent_version") or data.get("version"),
        agent_iteration=_context(agent, traces, "agent_iteration"),
        llm_model=model,
        llm_provider=meta.get("llm_provider"),
        metadata=metadata,
        latency_ms=latency,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cost_usd=cost,
        tool_calls=below.tools,
    ).cost_rows()
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
