"""Input formats. Each parser streams `Item`s: one native line, one CSV row, one agent
execution or defect from OTLP or Langfuse, or an error at a position, always with the
original bytes so that a reject can be stored exactly as it was read. The formats, their
detection and their parsers are listed once, in `registry`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from asp_telemetry.errors import AspError


@dataclass(slots=True)
class Item:
    line: int | None
    text: bytes  # the original bytes (a line break at the end is not part of them), b"" in memory
    # One native JSON line (validated as it is parsed), or records as dicts with their
    # "record" key (all accepted or all rejected together), or nothing when `error` says why.
    payload: bytes | list[dict[str, Any]] | None
    error: str | None = None
    position: str | None = None  # when "line N" does not say where
    record_type: str | None = None
    original: Any = None  # an in-memory record, dumped as JSON only if it is rejected

    @property
    def where(self) -> str:
        if self.position:
            return self.position
        return f"line {self.line}" if self.line is not None else "input"

    def original_bytes(self) -> bytes:
        text = self.text
        if not text and self.original is not None:
            return dumps_original(self.original)
        if text.endswith(b"\n"):
            return text[:-2] if text.endswith(b"\r\n") else text[:-1]
        return text


def items_from_records(records: Iterable[Any]) -> Iterator[Item]:
    """Native records built in memory (each a dict with its "record" key) as items, one per
    record; anything that is not a dict is an item rejected at its position."""
    for number, record in enumerate(records, 1):
        if isinstance(record, dict):
            yield Item(None, b"", [dict(record)], position=f"record {number}", original=record)
        else:
            yield Item(None, b"", None, error=f"not a record object (a {type(record).__name__})",
                       position=f"record {number}", original=record)


def dumps_original(value: Any) -> bytes:
    """An in-memory record as JSON, for a reject (it has no bytes of its own)."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, ValueError):  # integers beyond 64 bits, keys of odd types, recursion
        return repr(value).encode("utf-8", errors="backslashreplace")


def readable(data: bytes) -> str:
    """Bytes as readable text: UTF-8, an invalid byte as \\xNN, a NUL as \\x00 (so that it differs
    from the JSON escape \\u0000 the line may hold), for raw.rejected_records.original_text."""
    return data.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")


class FormatError(AspError, ValueError):
    """The input is not in the format it was read as (a whole-file problem, not one record)."""
