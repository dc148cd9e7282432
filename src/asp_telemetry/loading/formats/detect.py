"""Which format an input is in, from its first bytes (decompressed)."""

from __future__ import annotations

import csv
import io

import orjson

from asp_telemetry.loading.tables import TABLE_LOADS

RAW_COLUMNS = frozenset(column.name for table in TABLE_LOADS.values() for column in table.columns)

LANGFUSE_OBSERVATION_KEYS = (
    {"traceId", "startTime"},
    {"trace_id", "start_time"},
)
LANGFUSE_TRACE_KEYS = {"id", "timestamp"}


def _looks_like_langfuse(keys: set[str]) -> bool:
    return any(k <= keys for k in LANGFUSE_OBSERVATION_KEYS) or LANGFUSE_TRACE_KEYS <= keys


def detect(head: bytes, table: str | None = None) -> str:
    """native, csv, otlp or langfuse. CSV is recognised by a header naming raw columns (or by
    --table); anything else is read as native, so that its lines are rejected with reasons."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        return "native"
    if text[:1] == b"[":
        return "langfuse"
    if text[:1] == b"{":
        first_line = text.split(b"\n", 1)[0]
        try:
            first = orjson.loads(first_line)
        except orjson.JSONDecodeError:
            first = None
        if isinstance(first, dict):
            return _json_kind(set(first))
        # A document spread over several lines (pretty-printed), or a broken first line.
        if b'"resourceSpans"' in text:
            return "otlp"
        if b'"data"' in text and b'"meta"' in text:
            return "langfuse"
        return "native"
    header = next(csv.reader(io.StringIO(text.split(b"\n", 1)[0].decode("utf-8", errors="replace"))), [])
    names = {name.strip() for name in header}
    if _looks_like_langfuse(names):
        return "langfuse"
    if table is not None or names & RAW_COLUMNS:
        return "csv"
    return "native"


def _json_kind(keys: set[str]) -> str:
    if "record" in keys:
        return "native"
    if "resourceSpans" in keys or "resource_spans" in keys:
        return "otlp"
    if "data" in keys and "meta" in keys:
        return "langfuse"
    if _looks_like_langfuse(keys):
        return "langfuse"
    return "native"
