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
    through opentelemetry-proto and protobuf's JSON mapping (base64 ids, enum names)."""
    if media == PROTOBUF:
        message = ExportTraceServiceRequest()
        try:
            message.ParseFromString(body)
        except (ProtobufDecodeError, ValueError) as exc:
            raise Undecodable(f"not a protobuf ExportTraceServiceRequest ({exc})") from None
        return json_format.MessageToDict(message)
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
