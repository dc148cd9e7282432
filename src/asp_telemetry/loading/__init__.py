"""Loading telemetry into the raw tables: `asp-telemetry load`, the SDK sink, the ingest flow.

    load_paths(info, ["exports/", "day.jsonl.gz"])      # files, directories, "-" for stdin
    load_records(info, [{"record": "task_metadata", "task_id": "T-1"}], source="sdk")

Formats (native JSON Lines, CSV, OTLP/JSON, Langfuse), identities and mappings: README,
"Loading telemetry".
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.loading import ledger, vocabulary
from asp_telemetry.loading.formats import FORMATS, FormatError, Item
from asp_telemetry.loading.loader import DEFAULT_BATCH_ROWS, FileLoadSummary, LoadSummary, Progress, SourceLoader
from asp_telemetry.loading.records import TABLES, RecordValidator
from asp_telemetry.loading.sources import UnreadableInput, expand

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "FORMATS",
    "TABLES",
    "FileLoadSummary",
    "FormatError",
    "LoadSummary",
    "Progress",
    "UnreadableInput",
    "load_paths",
    "load_records",
]


def _check_options(format: str | None, table: str | None) -> None:
    if format is not None and format not in FORMATS:
        raise FormatError(f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
    if table is not None and table not in TABLES:
        raise FormatError(f"unknown table {table!r}: use one of {', '.join(TABLES)}")
    if format == "csv" and table is None:
        raise FormatError(f"--format csv needs --table (one of {', '.join(TABLES)})")


def load_paths(
    info: ConnectionInfo,
    paths: Iterable[str | os.PathLike],
    format: str | None = None,
    table: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> list[FileLoadSummary]:
    """Load files, directories (their files, recursively) and "-" (stdin), one summary per
    file. Every path is checked before anything loads: a missing one raises UnreadableInput."""
    _check_options(format, table)
    sources = expand(list(paths))
    validator = RecordValidator(vocabulary.load())
    with SourceLoader(info, validator, strict=strict, batch_rows=batch_rows, progress=progress) as loader:
        return [loader.load_source(source, format=format, table=table) for source in sources]


def load_records(
    info: ConnectionInfo,
    records: Iterable[dict[str, Any]],
    source: str,
    strict: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> LoadSummary:
    """Load native records already built in memory (each a dict with its "record" key), with
    the same validation, identities and rejects as a file."""
    validator = RecordValidator(vocabulary.load())
    summary = LoadSummary(source=source)
    items = (
        Item(None, "", [dict(record)] if isinstance(record, dict) else None,
             error=None if isinstance(record, dict) else f"not a record object (a {type(record).__name__})",
             position=f"record {number}", original=record)
        for number, record in enumerate(records, 1)
    )
    with SourceLoader(info, validator, strict=strict, batch_rows=batch_rows) as loader:
        summary.load_id = ledger.open_load(loader.control, source, None, None, None, strict)
        try:
            loader.load_items(summary, items, f"records:{source}")
        except BaseException:
            summary.status, summary.error = "failed", "interrupted"
            raise
        finally:
            ledger.close_load(
                loader.control, summary.load_id, status=summary.status, format="records",
                content_sha256=None, size_bytes=None, loaded=summary.loaded, updated=summary.updated,
                duplicates=summary.duplicates, rejected=summary.rejected,
            )
    return summary
