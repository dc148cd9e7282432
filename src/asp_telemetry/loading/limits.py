"""Bounds on one load, whatever its input: a record's size, the size of an input read whole,
and the time one source may take."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_RECORD_BYTES = 8 << 20
DEFAULT_MAX_DOCUMENT_BYTES = 128 << 20


@dataclass(frozen=True)
class Limits:
    """A record's size (a native line, a CSV row), the size of an input read whole (OTLP,
    Langfuse), and the time one source may take."""

    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    time_limit_s: float | None = None


class LoadTimedOut(Exception):
    """A source reached its time limit (never escapes the loader: the source's summary says it)."""
