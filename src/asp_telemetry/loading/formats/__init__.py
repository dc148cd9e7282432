"""Input formats. Each parser streams `Item`s: one native line, one CSV row, one agent
execution or defect from OTLP or Langfuse, or an error at a position, always with the
original text so that a reject can be stored as it was read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

FORMATS = ("native", "csv", "otlp", "langfuse")


@dataclass(slots=True)
class Item:
    line: int | None
    text: bytes | str
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

    def original_text(self) -> str:
        text = self.text
        if isinstance(text, bytes):
            return text.decode("utf-8", errors="backslashreplace")
        if not text and self.original is not None:
            return orjson.dumps(self.original, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        return text


class FormatError(ValueError):
    """The input is not in the format it was read as (a whole-file problem, not one record)."""
