"""OTLP/JSON traces (OpenTelemetry GenAI semantic conventions) into cost rows.

Reads what the Collector's file exporter writes (one ExportTraceServiceRequest per line) or
one request document, in either id encoding (hex, or protobuf-JSON's base64), with 64-bit
integers as numbers or strings and enums as integers or names. Spans of a trace may be spread
over many lines: the whole input is read before executions are built, so memory grows with
the spans of one input (unlike the native and CSV formats, which stream). It is bounded: an
input larger than --max-document-bytes fails whole, and each span keeps only the attributes
the mapping reads (an agent span also its JSON, for a reject).

Each `invoke_agent` span is one agent execution (mapping: README, "OTLP"). Traces are walked
iteratively (a chain of any depth); a trace whose parents form a cycle is rejected whole.
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

from asp_telemetry.execution import Execution
from asp_telemetry.loading.formats import Item, dumps_original
from asp_telemetry.loading.formats.lines import bounded_lines, document_too_large, strip_break

AGENT = "invoke_agent"
TOOL = "execute_tool"
INFERENCE = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
STATUS_ERROR = 2
NANOS_PER_MS = Decimal(1_000_000)
# Inherited from the nearest ancestor that has them.
INHERITED = ("asp.task_id", "gen_ai.conversation.id", "asp.subtask_id", "asp.project_id", "asp.agent_iteration")
USAGE_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cost")
# The part of the input tokens read from / written to the provider's prompt cache (the GenAI
# conventions count them in gen_ai.usage.input_tokens: Tokens_In keeps them, counted once),
# with the spellings of earlier convention versions.
CACHE_READ_KEYS = (
    "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens", "gen_ai.usage.input_tokens.cached",
)
CACHE_WRITE_KEYS = ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens")
RESOURCE_KEPT = frozenset({"service.name"})
# OpenInference (Arize Phoenix's conventions: the LlamaIndex, LangChain, DSPy, CrewAI and
# OpenAI Agents instrumentors) read as the GenAI attributes they stand for (docs/collector.md,
# the mapping table). An AGENT span is an agent execution when it names its agent (`agent.name`);
# one without (the OpenAI Agents SDK's "Agent workflow") is a plain span, like CHAIN.
OPENINFERENCE_KIND = "openinference.span.kind"
OPENINFERENCE_OPERATIONS = {"AGENT": AGENT, "LLM": "chat", "TOOL": TOOL}
OPENINFERENCE_ATTRIBUTES = {
    "agent.name": "gen_ai.agent.name",
    "llm.model_name": "gen_ai.response.model",
    "llm.provider": "gen_ai.provider.name",
    "llm.system": "gen_ai.system",
    "llm.token_count.prompt": "gen_ai.usage.input_tokens",
    "llm.token_count.completion": "gen_ai.usage.output_tokens",
    "llm.cost.total": "gen_ai.usage.cost",
    "session.id": "gen_ai.conversation.id",
    # part of llm.token_count.prompt, as the GenAI cache reads are of the input tokens
    "llm.token_count.prompt_details.cache_read": "gen_ai.usage.cache_read.input_tokens",
    "llm.token_count.prompt_details.cache_write": "gen_ai.usage.cache_creation.input_tokens",
}
# The attributes the mapping reads: a span keeps these only (prompts and messages can be large).
KEPT_ATTRIBUTES = frozenset({
    "gen_ai.operation.name", "gen_ai.agent.name", "gen_ai.agent.id", "gen_ai.agent.version",
    "gen_ai.aggregated_usage.input_tokens", "gen_ai.aggregated_usage.output_tokens",
    "gen_ai.response.model", "gen_ai.request.model", "gen_ai.provider.name", "gen_ai.system", "service.name",
    *USAGE_KEYS, *CACHE_READ_KEYS, *CACHE_WRITE_KEYS, *INHERITED, OPENINFERENCE_KIND, *OPENINFERENCE_ATTRIBUTES,
})


def _from_openinference(attributes: dict[str, Any]) -> None:
    """OpenInference attributes as their GenAI counterparts; a GenAI attribute the span has
    as well wins."""
    for key, genai in OPENINFERENCE_ATTRIBUTES.items():
        value = attributes.pop(key, None)
        if value is not None and attributes.get(genai) is None:
            attributes[genai] = value
    kind = attributes.pop(OPENINFERENCE_KIND, None)
    operation = OPENINFERENCE_OPERATIONS.get(str(kind).upper()) if kind else None
    if operation == AGENT and attributes.get("gen_ai.agent.name") is None:
        operation = None
    if operation and attributes.get("gen_ai.operation.name") is None:
        attributes["gen_ai.operation.name"] = operation


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


def _attributes(items: list[dict[str, Any]] | None, keep: frozenset[str] | None = None) -> dict[str, Any]:
    return {
        item["key"]: _value(item.get("value") or {})
        for item in items or [] if "key" in item and (keep is None or item["key"] in keep)
    }


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
    attributes = _attributes(raw.get("attributes"), KEPT_ATTRIBUTES)
    if attributes.keys() & OPENINFERENCE_ATTRIBUTES.keys() or OPENINFERENCE_KIND in attributes:
        _from_openinference(attributes)
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


def _requests(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, Any, bytes, str | None]]:
    """(line, request, text, error) for each request: one per line (JSON Lines, read line by
    line), or one document spread over lines (read whole). At most max_bytes in all."""
    first = stream.readline(max_bytes + 1)
    try:
        request = orjson.loads(first) if first.strip() else None
    except orjson.JSONDecodeError:
        request = None
    if request is not None:  # JSON Lines: the first line is a request of its own
        for number, line in bounded_lines(first, stream, max_bytes, "an OTLP line", "OTLP input"):
            line = strip_break(line)
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line), line, None
            except orjson.JSONDecodeError as exc:
                yield number, None, line, f"not valid JSON ({exc})"
        return
    data = first + stream.read(max_bytes + 1 - len(first))
    if len(data) > max_bytes:
        raise document_too_large("OTLP input", max_bytes)
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


def _error_item(line: int, text: bytes, reason: str, position: str | None = None) -> Item:
    return Item(line, text, None, error=reason, position=position, record_type="agent_cost_vector")


def _spans(stream: BinaryIO, max_bytes: int) -> Iterator[Item | Span]:
    """Every span of the input (compacted), or an Item for what cannot be read."""
    for line, request, text, error in _requests(stream, max_bytes):
        if error is not None:
            yield _error_item(line, text, error)
            continue
        yield from request_spans(request, line, text)


def request_spans(request: Any, line: int, text: bytes = b"") -> Iterator[Item | Span]:
    """The spans (compacted) of one ExportTraceServiceRequest as OTLP/JSON, or an Item for
    what cannot be read; `line` is where the request is (the collector: its request number)."""
    if not isinstance(request, dict):
        yield _error_item(line, text, "not an ExportTraceServiceRequest object")
        return
    index = 0  # the spans of this line, counted: a reject's position is unique
    try:
        for resource_spans in _list(_get(request, "resourceSpans", "resource_spans")):
            resource = _attributes(_dict(_dict(resource_spans).get("resource")).get("attributes"), RESOURCE_KEPT)
            for scope_spans in _list(_get(_dict(resource_spans), "scopeSpans", "scope_spans")):
                for raw in _list(_dict(scope_spans).get("spans")):
                    index += 1
                    try:
                        span = _span(raw, line)
                    except (SpanError, KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
                        yield _error_item(line, _dumps(raw), f"bad span: {exc}", f"line {line}, span #{index}")
                        continue
                    if "service.name" in resource:
                        span.attributes.setdefault("service.name", resource["service.name"])
                    yield span
    except (SpanError, KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
        yield _error_item(line, text or _dumps(request), f"not an ExportTraceServiceRequest ({exc})")


def _list(value: Any) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpanError(f"a list was expected, not {type(value).__name__}")
    return value


def _dict(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpanError(f"an object was expected, not {type(value).__name__}")
    return value


def _dumps(value: Any) -> bytes:
    return dumps_original(value)


def parse(stream: BinaryIO, max_document_bytes: int) -> Iterator[Item]:
    traces: dict[str, dict[str, Span]] = {}
    for found in _spans(stream, max_document_bytes):
        if isinstance(found, Item):
            yield found
        else:  # a span exported twice is one span
            traces.setdefault(found.trace_id, {})[found.span_id] = found
    items: list[tuple[tuple[int, int], Item]] = []
    for trace_id, spans in traces.items():
        items.extend(_trace_items(trace_id, spans))
    items.sort(key=lambda pair: pair[0])
    for _, item in items:
        yield item


def trace_items(trace_id: str, spans: dict[str, Span]) -> Iterator[Item]:
    """The executions of one trace whose spans were gathered elsewhere (the collector holds a
    trace's spans over many requests), or one reject when they cannot form a tree."""
    for _, item in _trace_items(trace_id, spans):
        yield item


@dataclass(slots=True)
class _Context:
    """What a span inherits from its ancestors: the nearest value of each ASP key, and the
    nearest agent span above it."""

    values: dict[str, Any]
    agent: Span | None


def _trace_items(trace_id: str, spans: dict[str, Span]) -> Iterator[tuple[tuple[int, int], Item]]:
    """The executions of one trace, or one reject when its spans cannot form a tree."""
    roots: list[Span] = []
    for span in spans.values():
        span.children = []
    for span in spans.values():
        parent = spans.get(span.parent_id) if span.parent_id and span.parent_id != span.span_id else None
        if span.parent_id == span.span_id:
            parent = span  # its own parent: a cycle of one
        if parent is None:
            roots.append(span)
        else:
            parent.children.append(span)
    contexts: dict[str, _Context] = {}
    stack = [(root, _Context({}, None)) for root in roots]
    while stack:  # down from the roots, iteratively: a chain of any depth
        span, above = stack.pop()
        values = above.values
        own = {key: span.attributes[key] for key in INHERITED if span.attributes.get(key) not in (None, "")}
        if own:
            values = {**values, **own}
        context = _Context(values, above.agent)
        contexts[span.span_id] = context
        below = _Context(values, span if span.operation == AGENT else above.agent)
        stack.extend((child, below) for child in span.children)
    first_line = min(span.line for span in spans.values())
    if len(contexts) < len(spans):
        in_cycle = sorted(span_id for span_id in spans if span_id not in contexts)
        agents = [span.raw for span in spans.values() if span.raw is not None]
        shown = ", ".join(in_cycle[:4]) + (f" and {len(in_cycle) - 4} more" if len(in_cycle) > 4 else "")
        yield (first_line, 0), _error_item(
            first_line, _dumps(agents or [{"traceId": trace_id, "spanIds": in_cycle[:100]}]),
            f"the parents of spans {shown} form a cycle: the trace cannot be mapped and is rejected whole",
            f"trace {trace_id}",
        )
        return
    for span in spans.values():
        if span.operation != AGENT:
            continue
        context = contexts[span.span_id]
        if context.agent is not None and _same_agent(span, context.agent):
            continue  # part of the execution of the same agent around it
        try:
            item = _execution(span, context.values)
        except Exception as exc:  # noqa: BLE001 - one execution costs itself, never the file
            reason = str(exc) if isinstance(exc, SpanError) else f"cannot be mapped ({type(exc).__name__}: {exc})"
            item = _error_item(span.line, _dumps(span.raw), reason, f"line {span.line}, span {span.span_id}")
        yield (span.line, span.start_ns), item


def _same_agent(one: Span, other: Span) -> bool:
    keys = ("gen_ai.agent.name", "gen_ai.agent.id")
    return all(one.attributes.get(k) == other.attributes.get(k) for k in keys)


@dataclass
class _Usage:
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: Decimal | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    tool_calls: int = 0
    models: list[tuple[int, str]] = field(default_factory=list)  # (start, model) of inference spans
    providers: list[str] = field(default_factory=list)
    inference_spans: int = 0


def _add(total: int | Decimal | None, value: Any) -> Any:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return total
    number = Decimal(str(value)) if isinstance(value, float) else value
    if isinstance(total, Decimal) or isinstance(number, Decimal):
        return Decimal(total or 0) + Decimal(number)
    return (total or 0) + int(number)


def _collect(agent: Span, usage: _Usage) -> None:
    """Walk the execution below an agent span (not into other agents, which are executions
    of their own), iteratively. An inference span is counted only when nothing below it
    reported usage, so that one wrapping another (a framework span around the provider's)
    counts once."""
    reported: dict[str, bool] = {}
    stack: list[tuple[Span, bool]] = [(agent, False)]
    while stack:
        span, children_done = stack.pop()
        if not children_done:
            stack.append((span, True))
            for child in span.children:
                if child.operation == AGENT and not _same_agent(child, agent):
                    continue
                if child.operation == TOOL:
                    usage.tool_calls += 1
                stack.append((child, False))
            continue
        reported_below = any(
            reported.get(child.span_id, False) for child in span.children
            if not (child.operation == AGENT and not _same_agent(child, agent))
        )
        if span is not agent and span.operation in INFERENCE:
            usage.inference_spans += 1
            attrs = span.attributes
            model = attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")
            if model:
                usage.models.append((span.start_ns, str(model)))
            provider = attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")
            if provider:
                usage.providers.append(str(provider))
            mine = any(k in attrs for k in USAGE_KEYS)
            if mine and not reported_below:
                usage.tokens_in = _add(usage.tokens_in, attrs.get("gen_ai.usage.input_tokens"))
                usage.tokens_out = _add(usage.tokens_out, attrs.get("gen_ai.usage.output_tokens"))
                usage.cost = _add(usage.cost, attrs.get("gen_ai.usage.cost"))
                usage.cache_read = _add(usage.cache_read, _first(attrs, CACHE_READ_KEYS))
                usage.cache_write = _add(usage.cache_write, _first(attrs, CACHE_WRITE_KEYS))
            reported_below = reported_below or mine
        reported[span.span_id] = reported_below


def _iso(nanos: int, what: str) -> str:
    seconds, rest = divmod(nanos, 1_000_000_000)
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise SpanError(f"{what}: {nanos} is not a time between years 1 and 9999") from None
    return moment.replace(microsecond=rest // 1000).isoformat()


def _execution(agent: Span, inherited: dict[str, Any]) -> Item:
    text = _dumps(agent.raw)
    position = f"line {agent.line}, span {agent.span_id}"
    if not agent.start_ns:
        return _error_item(agent.line, text, "startTimeUnixNano: the agent span has no start time", position)
    if agent.end_ns and agent.end_ns < agent.start_ns:
        return _error_item(agent.line, text, "span ends before it starts", position)
    attrs = agent.attributes
    usage = _Usage()
    _collect(agent, usage)
    if usage.inference_spans == 0:  # no inference below: the agent span reports its own usage
        for key, fallback in (("tokens_in", "input_tokens"), ("tokens_out", "output_tokens")):
            value = attrs.get(f"gen_ai.usage.{fallback}")
            if value is None:
                value = attrs.get(f"gen_ai.aggregated_usage.{fallback}")
            setattr(usage, key, _add(None, value))
        usage.cost = _add(None, attrs.get("gen_ai.usage.cost"))
        usage.cache_read = _add(None, _first(attrs, CACHE_READ_KEYS))
        usage.cache_write = _add(None, _first(attrs, CACHE_WRITE_KEYS))
    task_id = inherited.get("asp.task_id") or inherited.get("gen_ai.conversation.id") or agent.trace_id
    metadata: dict[str, Any] = {"trace_id": agent.trace_id, "span_id": agent.span_id, "source": "otlp"}
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
    records = Execution(
        task_id=_text(task_id),
        agent_role=attrs.get("gen_ai.agent.name"),
        execution_id=agent.span_id,
        timestamp=_iso(agent.start_ns, "startTimeUnixNano"),
        subtask_id=_text(inherited.get("asp.subtask_id")),
        project_id=_text(inherited.get("asp.project_id")),
        agent_version=_text(attrs.get("gen_ai.agent.version")),
        agent_iteration=inherited.get("asp.agent_iteration"),
        llm_model=_text(model),
        llm_provider=_text(provider),
        metadata=metadata,
        latency_ms=Decimal(agent.end_ns - agent.start_ns) / NANOS_PER_MS if agent.end_ns else None,
        tokens_in=usage.tokens_in,
        tokens_out=usage.tokens_out,
        cache_read_tokens=usage.cache_read,
        cache_write_tokens=usage.cache_write,
        cost_usd=usage.cost,
        tool_calls=usage.tool_calls,
    ).cost_rows()
    return Item(agent.line, text, records, position=position, record_type="agent_cost_vector")


def _first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """The value of the first of `keys` the span has (a newer spelling before an older one)."""
    return next((attrs[key] for key in keys if attrs.get(key) is not None), None)


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
