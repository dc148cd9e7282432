"""The bodies of OTLP/HTTP trace requests and responses (OTLP/HTTP specification): protobuf
(`opentelemetry-proto`'s messages) or JSON, optionally gzip-compressed, within a size limit."""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from asp_telemetry.loading.formats.otlp import AGENT, KEPT_ATTRIBUTES, OPENINFERENCE_KIND

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MEDIA_TYPES = (PROTOBUF, JSON)
# How a request's body is kept in the spool (one byte of its frame).
KIND_OF = {PROTOBUF: 1, JSON: 2}
MEDIA_OF = {kind: media for media, kind in KIND_OF.items()}


class BodyTooLarge(ValueError):
    """The body (or what it inflates to) is over the limit: 413."""


class Undecodable(ValueError):
    """The body is not an ExportTraceServiceRequest in its content type: 400."""


def media_type(content_type: str | None) -> str | None:
    """`application/json; charset=utf-8` as `application/json`."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body without its Content-Encoding (identity or gzip), at most `limit` bytes."""
    coding = (encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding != "gzip":
        raise Undecodable(f"Content-Encoding {encoding!r} is not supported: send gzip or none")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise Undecodable(f"the body is not valid gzip ({exc})") from None
    if len(data) > limit:
        raise BodyTooLarge(f"the body inflates to more than {limit} bytes")
    if not inflater.eof:
        raise Undecodable("the gzip body is truncated")
    return data


def decode(body: bytes, media: str) -> dict[str, Any]:
    """An ExportTraceServiceRequest as OTLP/JSON (what loading/formats/otlp.py reads): protobuf
    decoded by opentelemetry-proto, then its messages read field by field (as the OTLP/JSON
    encoding has them: hex ids) - protobuf's generic JSON mapping costs several times more."""
    if media == PROTOBUF:
        message = ExportTraceServiceRequest()
        try:
            message.ParseFromString(body)
        except (ProtobufDecodeError, ValueError) as exc:
            raise Undecodable(f"not a protobuf ExportTraceServiceRequest ({exc})") from None
        return _request(message)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Undecodable(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise Undecodable(f"not an ExportTraceServiceRequest object (a JSON {type(value).__name__})")
    return value


def response(media: str, rejected: int = 0, message: str = "") -> bytes:
    """An ExportTraceServiceResponse in the request's encoding, with partial_success when
    spans were rejected."""
    reply = ExportTraceServiceResponse()
    if rejected:
        reply.partial_success.CopyFrom(ExportTracePartialSuccess(rejected_spans=rejected, error_message=message))
    if media == PROTOBUF:
        return reply.SerializeToString()
    return orjson.dumps(json_format.MessageToDict(reply))


def _any_value(value: Any) -> dict[str, Any]:
    kind = value.WhichOneof("value")
    if kind is None:
        return {}
    if kind == "string_value":
        return {"stringValue": value.string_value}
    if kind == "int_value":
        return {"intValue": value.int_value}
    if kind == "double_value":
        return {"doubleValue": value.double_value}
    if kind == "bool_value":
        return {"boolValue": value.bool_value}
    if kind == "array_value":
        return {"arrayValue": {"values": [_any_value(v) for v in value.array_value.values]}}
    if kind == "kvlist_value":
        return {"kvlistValue": {"values": _key_values(value.kvlist_value.values)}}
    return json_format.MessageToDict(value)  # bytes: base64, as protobuf's JSON has them


def _key_values(items: Any) -> list[dict[str, Any]]:
    return [{"key": item.key, "value": _any_value(item.value)} for item in items]


def _is_agent(pairs: list[tuple[str, Any]]) -> bool:
    for key, value in pairs:
        if (key == "gen_ai.operation.name" and value.string_value == AGENT) or (
                key == OPENINFERENCE_KIND and value.string_value.upper() == "AGENT"):
            return True
    return False


def _span_attributes(items: Any) -> list[dict[str, Any]]:
    """The attributes the mapping reads (prompts and messages can be large, and are not
    read); all of an agent span's, which a reject shows whole."""
    pairs = [(item.key, item.value) for item in items]
    everything = _is_agent(pairs)
    return [{"key": key, "value": _any_value(value)} for key, value in pairs if everything or key in KEPT_ATTRIBUTES]


def _span(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": span.trace_id.hex(),
        "spanId": span.span_id.hex(),
        "name": span.name,
        "startTimeUnixNano": span.start_time_unix_nano,
        "endTimeUnixNano": span.end_time_unix_nano,
        "attributes": _span_attributes(span.attributes),
        "status": {"code": span.status.code, "message": span.status.message},
    }
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id.hex()
    if span.kind:
        out["kind"] = span.kind
    return out


def _request(message: ExportTraceServiceRequest) -> dict[str, Any]:
    return {"resourceSpans": [
        {
            "resource": {"attributes": _key_values(resource_spans.resource.attributes)},
            "scopeSpans": [
                {"scope": {"name": scope_spans.scope.name, "version": scope_spans.scope.version},
                 "spans": [_span(span) for span in scope_spans.spans]}
                for scope_spans in resource_spans.scope_spans
            ],
        }
        for resource_spans in message.resource_spans
    ]}
