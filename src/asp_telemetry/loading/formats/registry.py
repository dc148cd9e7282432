"""The input formats, in one table: each one's name, the raw tables it fills, how it is
recognised from an input's first bytes, and its parser. A new format is a parser module
and one row here (docs/architecture.md).
"""

from __future__ import annotations

import csv as csv_module
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from asp_telemetry.loading.formats import FormatError, Item, csv, detect, langfuse, native, otlp
from asp_telemetry.loading.limits import Limits


@dataclass
class ParseContext:
    """What parsers need beyond their input: the limits, the known agent roles (a Langfuse
    SPAN named after one is an agent execution) and the Langfuse traces seen so far in this
    load."""

    limits: Limits
    roles: frozenset[str]
    langfuse_traces: dict[str, dict[str, Any]]


Parser = Callable[[BinaryIO, str | None, ParseContext], Iterator[Item]]


@dataclass(frozen=True)
class Format:
    name: str
    tables: str  # the raw tables its records go to
    parse: Parser
    # Detection (`detect`): a first JSON object with these keys, or a CSV header with these names.
    keys: Callable[[set[str]], bool] | None = None
    header: Callable[[set[str], str | None], bool] | None = None
    needs_table: bool = False  # --table says which raw table the input holds


# In the order detection tries them: the more specific first (a Langfuse CSV export names
# raw columns too).
REGISTRY: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "native", "any: each line's \"record\" names its table",
            lambda stream, table, context: native.parse(stream, context.limits.max_record_bytes),
            keys=detect.native_keys,
        ),
        Format(
            "otlp", "agent_cost_vector, defect_log",
            lambda stream, table, context: otlp.parse(stream, context.limits.max_document_bytes),
            keys=detect.otlp_keys,
        ),
        Format(
            "langfuse", "agent_cost_vector, defect_log",
            lambda stream, table, context: langfuse.parse(
                stream, context.langfuse_traces, context.roles, context.limits.max_document_bytes
            ),
            keys=detect.langfuse_keys, header=detect.langfuse_header,
        ),
        Format(
            "csv", "the one --table names",
            lambda stream, table, context: csv.parse(stream, table, context.limits.max_record_bytes),
            header=detect.csv_header, needs_table=True,
        ),
    )
}
FORMATS = tuple(REGISTRY)


def get(name: str) -> Format:
    try:
        return REGISTRY[name]
    except KeyError:
        raise FormatError(f"unknown format {name!r}: use one of {', '.join(FORMATS)}") from None


def parse(stream: BinaryIO, format: str, table: str | None, context: ParseContext) -> Iterator[Item]:
    return get(format).parse(stream, table, context)


def detect_format(head: bytes, table: str | None = None) -> str:
    """The format of an input from its first bytes. Anything not recognised is read as native,
    so that its lines are rejected with reasons."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        return "native"
    if text[:1] == b"[":  # a JSON array: a Langfuse export
        return "langfuse"
    if text[:1] == b"{":
        try:
            first = orjson.loads(text.split(b"\n", 1)[0])
        except orjson.JSONDecodeError:
            first = None
        if not isinstance(first, dict):
            return detect.scanned_kind(text)
        keys = set(first)
        return next((f.name for f in REGISTRY.values() if f.keys and f.keys(keys)), "native")
    header = next(csv_module.reader(io.StringIO(text.split(b"\n", 1)[0].decode("utf-8", errors="replace"))), [])
    names = {name.strip() for name in header}
    return next((f.name for f in REGISTRY.values() if f.header and f.header(names, table)), "native")
