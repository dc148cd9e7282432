"""What the first bytes of an input (decompressed) tell about its format: the keys and
headers each format is recognised by (`registry.detect` decides, in the registry's order).

Never from its size or its key order: a JSON document larger than the bytes looked at (a
Langfuse page of megabytes, `"data"` before `"meta"`) is recognised by the keys its beginning
holds, scanned without parsing the whole."""

from __future__ import annotations

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


def looks_like_langfuse(keys: set[str]) -> bool:
    return any(k <= keys for k in LANGFUSE_OBSERVATION_KEYS) or LANGFUSE_TRACE_KEYS <= keys


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


def native_keys(keys: set[str]) -> bool:
    return "record" in keys


def otlp_keys(keys: set[str]) -> bool:
    return bool(keys & OTLP_KEYS)


def langfuse_keys(keys: set[str]) -> bool:
    """An API page ({"data": [...], "meta": ...}), an observation or a trace."""
    return ("data" in keys and "meta" in keys) or looks_like_langfuse(keys)


def langfuse_header(names: set[str], table: str | None) -> bool:
    return looks_like_langfuse(names)


def csv_header(names: set[str], table: str | None) -> bool:
    """A header naming raw columns (or any header, given --table)."""
    return table is not None or bool(names & RAW_COLUMNS)


def scanned_kind(text: bytes) -> str:
    """The format of a JSON document longer than the head, spread over several lines, or with
    a broken first line: the keys of its outer object (and of the objects right inside it)."""
    outer, inner = scan_keys(text)
    if otlp_keys(outer):
        return "otlp"
    if native_keys(outer):
        return "native"
    if "data" in outer or looks_like_langfuse(outer) or looks_like_langfuse(inner):
        return "langfuse"
    return "native"
