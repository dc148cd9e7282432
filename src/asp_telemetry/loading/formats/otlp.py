"""OTLP/JSON traces (OpenTelemetry GenAI semantic conventions) into cost rows.

Reads what the Collector's file exporter writes (one ExportTraceServiceRequest per line) or
one request document, in either id encoding (hex, or protobuf-JSON's base64), with 64-bit
integers as numbers or strings and enums as integers or names. Spans of a trace may be spread
over many lines: the whole input is read before executions are built (so memory grows with
the spans of one input, unlike the native and CSV formats, which stream).

Each `invoke_agent` span is one agent execution (mapping: README, "OTLP").
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, BinaryIO

import orjson

from asp_telemetry.loading.formats import Item

AGENT = "invoke_agent"
TOOL = "execute_tool"
INFERENCE = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
STATUS_ERROR = 2
NANOS_PER_MS = Decimal(1_000_000)


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status_code: int
    status_message: str | None
    line: int
    raw: dict[str, Any] | None  # the span as read, kept for agent spans (a reject's text)
    children: list[Span] = field(default_factory=list)

    @property
    def operation(self) -> str | None:
        return self.attributes.get("gen_ai.operation.name")


class SpanError(ValueError):
    pass


def _get(obj: dict, camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _id(value: Any, size: int, what: str) -> str | None:
    """A trace (16 bytes) or span (8 bytes) id as lowercase hex, from hex or base64."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise SpanError(f"{what}: not a string ({value!r})")
    if len(value) == size * 2:
        try:
            bytes.fromhex(value)
            return value.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise SpanError(f"{what}: {value!r} is neither {size * 2} hex digits nor base64 of {size} bytes")
    return raw.hex()


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise SpanError(f"{what}: not an integer ({value!r})")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise SpanError(f"{what}: not an integer ({value!r})")


def _value(value: dict[str, Any]) -> Any:
    """An OTLP AnyValue as a Python value."""
    for camel, snake in (("stringValue", "string_value"), ("boolValue", "bool_value"), ("doubleValue", "double_value")):
        found = _get(value, camel, snake)
        if found is not None:
            return found
    found = _get(value, "intValue", "int_value")
    if found is not None:
        return _int(found, "intValue")
    found = _get(value, "arrayValue", "array_value")
    if found is not None:
        return [_value(v) for v in found.get("values", [])]
    found = _get(value, "kvlistValue", "kvlist_value")
    if found is not None:
        return _attributes(found.get("values", []))
    found = _get(value, "bytesValue", "bytes_value")
    if found is not None:
        return found
    return None


def _attributes(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: _value(item.get("value") or {}) for item in items or [] if "key" in item}


STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def _status_code(status: dict[str, Any]) -> int:
    """An enum as an integer (OTLP/JSON) or by name (protobuf JSON)."""
    code = status.get("code") or 0
    return STATUS_NAMES[code] if code in STATUS_NAMES else _int(code, "status.code")


def _span(raw: dict[str, Any], line: int) -> Span:
    trace_id = _id(_get(raw, "traceId", "trace_id"), 16, "traceId")
    span_id = _id(_get(raw, "spanId", "span_id"), 8, "spanId")
    if trace_id is None or span_id is None:
        raise SpanError("a span without traceId or spanId")
    attributes = _attributes(raw.get("attributes"))
    start = _int(_get(raw, "startTimeUnixNano", "start_time_unix_nano") or 0, "startTimeUnixNano")
    end = _int(_get(raw, "endTimeUnixNano", "end_time_unix_nano") or 0, "endTimeUnixNano")
    status = raw.get("status") or {}
    keep = attributes.get("gen_ai.operation.name") == AGENT
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=_id(_get(raw, "parentSpanId", "parent_span_id"), 8, "parentSpanId"),
        name=raw.get("name", ""),
        start_ns=start,
        end_ns=end,
        attributes=attributes,
        status_code=_status_code(status),
        status_message=status.get("message"),
        line=line,
        raw=raw if keep else None,
    )


def _requests(stream: BinaryIO) -> Iterator[tuple[int, Any, bytes, str | None]]:
    """(line, request, text, error) for each request: one per line, or one document."""
    data = stream.read()
    try:
        yield 1, orjson.loads(data), b"", None  # a single document, possibly spread over lines
        return
    except orjson.JSONDecodeError:
        pass
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        line = line.rstrip(b"\r")
        try:
            yield number, orjson.loads(line), line, None
        except orjson.JSONDecodeError as exc:
            yield number, None, line, f"not valid JSON ({exc})"


def _error_item(line: int, text: bytes | str, reason: str, position: str | None = None) -> Item:
    return Item(line, text, None, error=reason, position=position, record_type="agent_cost_vector")


def parse(stream: BinaryIO) -> Iterator[Item]:
    spans: dict[tuple[str, str], Span] = {}
    for line, request, text, error in _requests(stream):
        if error is not None:
            yield _error_item(line, text, error)
            continue
        if not isinstance(request, dict):
            yield _error_item(line, text, "not an ExportTraceServiceRequest object")
            continue
        for resource_spans in _get(request, "resourceSpans", "resource_spans") or []:
            resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
            for scope_spans in _get(resource_spans, "scopeSpans", "scope_spans") or []:
                for raw in scope_spans.get("spans") or []:
                    try:
                        span = _span(raw, line)
                    except (SpanError, KeyError, TypeError, AttributeError) as exc:
                        yield _error_item(line, orjson.dumps(raw), f"bad span: {exc}", f"line {line}, span")
                        continue
                    if "service.name" in resource:
                        span.attributes.setdefault("service.name", resource["service.name"])
                    spans[(span.trace_id, span.span_id)] = span  # a span exported twice is one span
    for span in spans.values():
        if span.parent_id is not None:
            parent = spans.get((span.trace_id, span.parent_id))
            if parent is not None:
                parent.children.append(span)
    agents = sorted(
        (s for s in spans.values() if s.operation == AGENT and not _repeats_its_agent(s, spans)),
        key=lambda s: (s.line, s.start_ns),
    )
    for agent in agents:
        yield _execution(agent, spans)


def _same_agent(one: Span, other: Span) -> bool:
    keys = ("gen_ai.agent.name", "gen_ai.agent.id")
    return all(one.attributes.get(k) == other.attributes.get(k) for k in keys)


def _repeats_its_agent(span: Span, spans: dict[tuple[str, str], Span]) -> bool:
    """An invoke_agent span inside an invoke_agent span of the same agent (a framework's span
    around the SDK's, say) is part of that execution, not another one."""
    current = spans.get((span.trace_id, span.parent_id)) if span.parent_id else None
    while current is not None and current.operation != AGENT:
        current = spans.get((current.trace_id, current.parent_id)) if current.parent_id else None
    return current is not None and _same_agent(span, current)


def _inherited(span: Span, spans: dict[tuple[str, str], Span], key: str) -> Any:
    """The attribute on the span or its nearest ancestor that has it."""
    current: Span | None = span
    seen = 0
    while current is not None and seen < 10_000:
        value = current.attributes.get(key)
        if value not in (None, ""):
            return value
        current = spans.get((current.trace_id, current.parent_id)) if current.parent_id else None
        seen += 1
    return None


@dataclass
class _Usage:
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: Decimal | None = None
    tool_calls: int = 0
    models: list[tuple[int, str]] = field(default_factory=list)  # (start, model) of inference spans
    providers: list[str] = field(default_factory=list)
    inference_spans: int = 0


def _add(total: int | Decimal | None, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return total
    number = Decimal(str(value)) if isinstance(value, float) else value
    if isinstance(total, Decimal) or isinstance(number, Decimal):
        return Decimal(total or 0) + Decimal(number)
    return (total or 0) + int(number)


def _collect(span: Span, usage: _Usage, agent: Span) -> bool:
    """Walk the execution below an agent span (not into other agents, which are executions
    of their own). Returns whether the subtree reported usage, so that an inference span
    wrapping another one (a framework span around the provider's) is counted once."""
    reported_below = False
    for child in span.children:
        if child.operation == AGENT and not _same_agent(child, agent):
            continue
        if child.operation == TOOL:
            usage.tool_calls += 1
        reported_below |= _collect(child, usage, agent)
    if span.operation in INFERENCE:
        usage.inference_spans += 1
        attrs = span.attributes
        model = attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")
        if model:
            usage.models.append((span.start_ns, str(model)))
        provider = attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")
        if provider:
            usage.providers.append(str(provider))
        mine = any(k in attrs for k in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cost"))
        if mine and not reported_below:
            usage.tokens_in = _add(usage.tokens_in, attrs.get("gen_ai.usage.input_tokens"))
            usage.tokens_out = _add(usage.tokens_out, attrs.get("gen_ai.usage.output_tokens"))
            usage.cost = _add(usage.cost, attrs.get("gen_ai.usage.cost"))
        return reported_below or mine
    return reported_below


def _iso(nanos: int) -> str:
    seconds, rest = divmod(nanos, 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rest // 1000).isoformat()


def _execution(agent: Span, spans: dict[tuple[str, str], Span]) -> Item:
    text = orjson.dumps(agent.raw)
    position = f"line {agent.line}, span {agent.span_id}"
    if agent.end_ns and agent.end_ns < agent.start_ns:
        return _error_item(agent.line, text, "span ends before it starts", position)
    attrs = agent.attributes
    usage = _Usage()
    _collect(agent, usage, agent)
    if usage.inference_spans == 0:  # no inference below: the agent span reports its own usage
        for key, fallback in (("tokens_in", "input_tokens"), ("tokens_out", "output_tokens")):
            value = attrs.get(f"gen_ai.usage.{fallback}")
            if value is None:
                value = attrs.get(f"gen_ai.aggregated_usage.{fallback}")
            setattr(usage, key, _add(None, value))
        usage.cost = _add(None, attrs.get("gen_ai.usage.cost"))
    task_id = (
        _inherited(agent, spans, "asp.task_id")
        or _inherited(agent, spans, "gen_ai.conversation.id")
        or agent.trace_id
    )
    iteration = _inherited(agent, spans, "asp.agent_iteration")
    metadata: dict[str, Any] = {
        "execution_id": agent.span_id,
        "trace_id": agent.trace_id,
        "span_id": agent.span_id,
        "source": "otlp",
    }
    if agent.status_code == STATUS_ERROR:
        metadata["status"] = "error"
        if agent.status_message:
            metadata["status_message"] = agent.status_message
    if attrs.get("service.name"):
        metadata["service_name"] = attrs["service.name"]
    models = [model for _, model in sorted(usage.models)]
    model = models[0] if models else attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")
    provider = (
        attrs.get("gen_ai.provider.name")
        or attrs.get("gen_ai.system")
        or (usage.providers[0] if usage.providers else None)
    )
    base = {
        "record": "agent_cost_vector",
        "timestamp": _iso(agent.start_ns),
        "task_id": _text(task_id),
        "subtask_id": _text(_inherited(agent, spans, "asp.subtask_id")),
        "project_id": _text(_inherited(agent, spans, "asp.project_id")),
        "agent_role": attrs.get("gen_ai.agent.name"),
        "agent_version": _text(attrs.get("gen_ai.agent.version")),
        "agent_iteration": 1 if iteration is None else iteration,
        "llm_model": _text(model),
        "llm_provider": _text(provider),
        "metadata": metadata,
    }
    metrics: list[tuple[str, Any]] = []
    if agent.end_ns:
        metrics.append(("Latency", Decimal(agent.end_ns - agent.start_ns) / NANOS_PER_MS))
    if usage.tokens_in is not None:
        metrics.append(("Tokens_In", usage.tokens_in))
    if usage.tokens_out is not None:
        metrics.append(("Tokens_Out", usage.tokens_out))
    if usage.cost is not None:
        metrics.append(("API_Cost", usage.cost))
    metrics.append(("Tool_Calls", usage.tool_calls))
    records = [{**base, "metric_type": metric, "metric_value": value} for metric, value in metrics]
    return Item(agent.line, text, records, position=position, record_type="agent_cost_vector")


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
