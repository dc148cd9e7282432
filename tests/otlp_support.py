"""Real OpenTelemetry SDK spans, encoded as OTLP/JSON the two ways the loader reads them.

`protobuf_json` is what `google.protobuf.json_format` makes of the SDK's OTLP protobuf
encoding (base64 ids, enum names, 64-bit integers as strings); `collector_json` is what the
Collector's file exporter writes (hex ids, enums as integers)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

ID_FIELDS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


class Recorder:
    """A tracer whose finished spans stay in memory."""

    def __init__(self, service: str = "asp-agents"):
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(resource=Resource.create({"service.name": service}))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("asp-telemetry-tests")

    @contextmanager
    def span(self, name: str, error: str | None = None, **attributes: Any) -> Iterator[Any]:
        attrs = {key.replace("__", "."): value for key, value in attributes.items()}
        with self.tracer.start_as_current_span(name, attributes=attrs) as span:
            yield span
            if error:
                span.set_status(Status(StatusCode.ERROR, error))

    def agent(self, role: str, **attributes: Any):
        return self.span(
            f"invoke_agent {role}", gen_ai__operation__name="invoke_agent", gen_ai__agent__name=role, **attributes
        )

    def chat(self, model: str, tokens_in: int, tokens_out: int, **attributes: Any):
        return self.span(
            f"chat {model}",
            gen_ai__operation__name="chat",
            gen_ai__request__model=model,
            gen_ai__response__model=model,
            gen_ai__provider__name="anthropic",
            gen_ai__usage__input_tokens=tokens_in,
            gen_ai__usage__output_tokens=tokens_out,
            **attributes,
        )

    def tool(self, name: str):
        return self.span(f"execute_tool {name}", gen_ai__operation__name="execute_tool", gen_ai__tool__name=name)

    def finished(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


def protobuf_json(spans: list[ReadableSpan]) -> dict[str, Any]:
    return json_format.MessageToDict(encode_spans(spans))


def _to_collector(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ID_FIELDS and isinstance(item, str):
                out[key] = base64.b64decode(item).hex()
            elif key == "kind" and isinstance(item, str):
                out[key] = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                            "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"].index(item)
            elif key == "code" and isinstance(item, str):
                out[key] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"].index(item)
            else:
                out[key] = _to_collector(item)
        return out
    if isinstance(value, list):
        return [_to_collector(v) for v in value]
    return value


def collector_json(spans: list[ReadableSpan]) -> dict[str, Any]:
    return _to_collector(protobuf_json(spans))


# -- spans made by hand, for shapes the SDK never makes (cycles, chains thousands deep) --------

START_NS = 1_767_607_200_000_000_000  # 2026-01-05T10:00:00Z


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def span(trace: int, span_id: int, parent: int | None = None, operation: str | None = None, start_ns: int = START_NS,
         duration_ns: int = 1_000_000, **attributes: Any) -> dict[str, Any]:
    """One span in the Collector's encoding; ids given as integers, attributes as `a__b=value`."""
    attrs = {key.replace("__", "."): value for key, value in attributes.items()}
    if operation:
        attrs["gen_ai.operation.name"] = operation
    return {
        "traceId": format(trace, "032x"),
        "spanId": format(span_id, "016x"),
        **({"parentSpanId": format(parent, "016x")} if parent is not None else {}),
        "name": f"{operation or 'span'} {span_id}",
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(start_ns + duration_ns),
        "attributes": [{"key": key, "value": _any_value(value)} for key, value in attrs.items()],
        "status": {},
    }


def request(spans: list[dict[str, Any]], service: str = "asp-agents") -> dict[str, Any]:
    """An ExportTraceServiceRequest holding the spans."""
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "tests"}, "spans": spans}],
    }]}
