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

import psycopg

from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.loading import ledger, vocabulary
from asp_telemetry.loading.batcher import DEFAULT_BATCH_ROWS
from asp_telemetry.loading.formats import FormatError, items_from_records, registry
from asp_telemetry.loading.formats.registry import FORMATS
from asp_telemetry.loading.limits import DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_RECORD_BYTES, Limits
from asp_telemetry.loading.records import TABLES, RecordValidator
from asp_telemetry.loading.source_loader import LOST_CONNECTION, SourceLoader
from asp_telemetry.loading.sources import UnreadableInput, expand
from asp_telemetry.loading.summary import FileLoadSummary, LoadSummary, Progress

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "DEFAULT_MAX_DOCUMENT_BYTES",
    "DEFAULT_MAX_RECORD_BYTES",
    "FORMATS",
    "TABLES",
    "FileLoadSummary",
    "FormatError",
    "Limits",
    "LoadSummary",
    "Progress",
    "UnreadableInput",
    "load_paths",
    "load_records",
]


def check_options(format: str | None, table: str | None) -> None:
    needs_table = format is not None and registry.get(format).needs_table
    if table is not None and table not in TABLES:
        raise FormatError(f"unknown table {table!r}: use one of {', '.join(TABLES)}")
    if needs_table and table is None:
        raise FormatError(f"--format {format} needs --table (one of {', '.join(TABLES)})")


def load_paths(
    info: ConnectionInfo,
    paths: Iterable[str | os.PathLike],
    format: str | None = None,
    table: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    limits: Limits | None = None,
    follow_links: bool = False,
) -> list[FileLoadSummary]:
    """Load files, directories (their files, recursively) and "-" (stdin), one summary per
    file. Every path is checked before anything loads: a missing one raises UnreadableInput.
    Whatever happens to one file, the next is loaded; if the database cannot be reached any
    more, DatabaseUnavailable is raised (the summaries so far went to `progress`)."""
    check_options(format, table)
    sources = expand(list(paths), follow_links=follow_links)
    validator = RecordValidator(vocabulary.load())
    with SourceLoader(info, validator, strict=strict, batch_rows=batch_rows, progress=progress,
                      limits=limits) as loader:
        return [loader.load_source(source, format=format, table=table) for source in sources]


def load_records(
    info: ConnectionInfo,
    records: Iterable[dict[str, Any]],
    source: str,
    strict: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> LoadSummary:
    """Load native records already built in memory (each a dict with its "record" key), with
    the same validation, identities and rejects as a file. A lost connection marks the load
    interrupted and raises (the SDK keeps the batch in its spool then)."""
    validator = RecordValidator(vocabulary.load())
    summary = LoadSummary(source=source)
    items = items_from_records(records)
    with SourceLoader(info, validator, strict=strict, batch_rows=batch_rows) as loader:
        summary.load_id = loader.open_ledger(source, None, None, None)
        try:
            loader.load_items(summary, items, f"records:{source}")
        except psycopg.Error as exc:
            summary.status = "interrupted"
            summary.error = LOST_CONNECTION.format(type(exc).__name__)
            raise
        except BaseException:
            summary.status, summary.error = "interrupted", "interrupted"
            raise
        finally:
            ledger.finish(info, loader.control, summary, "records", None, None)
    return summary
