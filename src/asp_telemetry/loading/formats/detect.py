"""Which format an input is in, from its first bytes (decompressed).

Never from its size or its key order: a JSON document larger than the bytes looked at (a
Langfuse page of megabytes, `"data"` before `"meta"`) is recognised by the keys its beginning
holds, scanned without parsing the whole."""

from __future__ import annotations

import csv
import io
import re

import orjson

from asp_telemetry.loading.tables import TABLE_LOADS

RAW_COLUMNS = frozenset(column.name for table in TABLE_LOADS.values() for column in table.columns)

LANGFUSE_OBSERVATION_KEYS = (
    {"traceId", "startTime"},
    {"trace_id", "start_time"},
)
LANGFUSE_TRACE_KEYS = {"id", "timestamp"}
OTLP_KEYS = {"resourceSpans", "resource_spans"}
# The tokens of JSON text that matter to its structure: strings, brackets, colons.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]:]')


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
        # A document longer than the head, spread over several lines, or a broken first line:
        # the keys of its outer object (and of the objects right inside it) tell.
        outer, inner = scan_keys(text)
        if outer & OTLP_KEYS:
            return "otlp"
        if "record" in outer:
            return "native"
        if "data" in outer or _looks_like_langfuse(outer) or _looks_like_langfuse(inner):
            return "langfuse"
        return "native"
    header = next(csv.reader(io.StringIO(text.split(b"\n", 1)[0].decode("utf-8", errors="replace"))), [])
    names = {name.strip() for name in header}
    if _looks_like_langfuse(names):
        return "langfuse"
    if table is not None or names & RAW_COLUMNS:
        return "csv"
    return "native"


def scan_keys(text: bytes) -> tuple[set[str], set[str]]:
    """The keys of the first JSON object in `text` (which may be cut anywhere), and the keys
    of the first object nested in it (an API page's first entry of "data")."""
    outer: set[str] = set()
    inner: set[str] = set()
    depth = 0
    inner_depth: int | None = None
    previous: bytes | None = None
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
            if token == b"{" and depth > 1 and inner_depth is None:
                inner_depth = depth
        elif token in (b"}", b"]"):
            if inner_depth is not None and depth == inner_depth:
                inner_depth = -1  # the first inner object is complete
            depth -= 1
            if depth == 0:
                break
        elif token == b":" and previous is not None and previous[:1] == b'"':
            key = _string(previous)
            if depth == 1:
                outer.add(key)
            elif depth == inner_depth:
                inner.add(key)
        previous = token
    return outer, inner


def _string(token: bytes) -> str:
    try:
        value = orjson.loads(token)
    except orjson.JSONDecodeError:
        return ""
    return value if isinstance(value, str) else ""


def _json_kind(keys: set[str]) -> str:
    if "record" in keys:
        return "native"
    if keys & OTLP_KEYS:
        return "otlp"
    if "data" in keys and "meta" in keys:
        return "langfuse"
    if _looks_like_langfuse(keys):
        return "langfuse"
    return "native"
