"""The load of one source: parse, validate, batch, write, summarise.

The main thread parses and validates; a writer thread sends batches to PostgreSQL, so the two
work at once and at most a couple of batches are ever in memory, whatever the input's size.
Without --strict each batch commits on its own (a load killed halfway leaves whole batches,
and loading again completes it); with --strict the whole source is one transaction, rolled
back at the first reject (the rejects are still recorded, through a second connection).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import psycopg
from pydantic import ValidationError

from asp_telemetry.connection import ConnectionInfo, connect
from asp_telemetry.loading import ledger
from asp_telemetry.loading.formats import FormatError, Item, detect, langfuse, native, otlp
from asp_telemetry.loading.formats import csv as csv_format
from asp_telemetry.loading.records import RecordError, RecordValidator, RejectedRecord, describe
from asp_telemetry.loading.sources import Source, UnreadableInput
from asp_telemetry.loading.tables import TABLE_LOADS
from asp_telemetry.loading.writer import Batch, BatchWriter, Counts, prepare_staging, store_rejects

DEFAULT_BATCH_ROWS = 50_000
QUEUED_BATCHES = 2
NUL_ESCAPE = b"\\u0000"
NUL_REASON = "contains a NUL character (\\u0000), which PostgreSQL cannot store"
# Input that cannot be read (as opposed to records that are wrong): the source fails.
INPUT_ERRORS = (UnreadableInput, FormatError, OSError, EOFError, UnicodeDecodeError)


@dataclass
class LoadSummary:
    """What became of one source's records."""

    source: str
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    status: str = "complete"  # complete | rolled_back | failed
    error: str | None = None
    load_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    def line(self) -> str:
        parts = [f"{self.loaded} loaded"]
        if self.updated:
            parts.append(f"{self.updated} updated")
        parts += [f"{self.duplicates} duplicates skipped", f"{self.rejected} rejected"]
        text = f"{self.source}: {', '.join(parts)}"
        if self.status == "rolled_back":
            text = f"{self.source}: rolled back (--strict), {self.rejected} rejected, nothing loaded"
        if self.error:
            text += f"; {self.error}"
        return text


@dataclass
class FileLoadSummary(LoadSummary):
    format: str | None = None
    content_sha256: str | None = None


class Progress(Protocol):
    def start(self, source: str, total_bytes: int | None) -> None: ...
    def advance(self, done_bytes: int) -> None: ...
    def finish(self, summary: FileLoadSummary) -> None: ...


@dataclass
class ParseContext:
    """What parsers need beyond their input: the known agent roles (a Langfuse SPAN named after
    one is an agent execution) and the Langfuse traces seen so far in this load."""

    roles: frozenset[str]
    langfuse_traces: dict[str, dict[str, Any]]


def parse(stream, format: str, table: str | None, context: ParseContext) -> Iterator[Item]:
    if format == "native":
        return native.parse(stream)
    if format == "csv":
        return csv_format.parse(stream, table)
    if format == "otlp":
        return otlp.parse(stream)
    if format == "langfuse":
        return langfuse.parse(stream, context.langfuse_traces, context.roles)
    raise FormatError(f"unknown format {format!r} (native, csv, otlp or langfuse)")


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def _record_type_of(item: Item) -> str | None:
    if item.record_type:
        return item.record_type
    if isinstance(item.payload, bytes):
        try:
            value = orjson.loads(item.payload)
        except orjson.JSONDecodeError:
            return None
        kind = value.get("record") if isinstance(value, dict) else None
        return kind if isinstance(kind, str) else None
    if item.payload:
        kind = item.payload[0].get("record")
        return kind if isinstance(kind, str) else None
    return None


class Batcher:
    """Validates items into batches of staging rows."""

    def __init__(self, validator: RecordValidator, source_name: str, batch_rows: int):
        self.validator = validator
        self.source_name = source_name
        self.batch_rows = batch_rows
        self.batch = Batch()
        self.formatters = {name: table.copy_formatter() for name, table in TABLE_LOADS.items() if table.record_key}

    def reject(self, item: Item, reason: str) -> None:
        self.batch.rejects.append(
            RejectedRecord(
                source=self.source_name,
                position=item.where,
                line_number=item.line,
                record_type=_record_type_of(item),
                reason=reason,
                original_text=item.original_text(),
            )
        )

    def batches(self, items: Iterable[Item]) -> Iterator[Batch]:
        validate_json = self.validator.validate_json_fast
        staging = {name: table.row_builder() for name, table in TABLE_LOADS.items()}
        formatters = self.formatters
        batch_rows = self.batch_rows
        batch = self.batch
        rows, batch_items, size = batch.rows, batch.items, 0
        for item in items:
            payload = item.payload
            if item.error is None and type(payload) is bytes:  # a native line: the hot path
                try:
                    record = validate_json(payload)
                except ValidationError as exc:
                    self.reject(item, describe(exc))
                else:
                    if NUL_ESCAPE in payload and _contains_nul(record):
                        self.reject(item, NUL_REASON)
                    else:
                        table = record.pop("record")
                        rows[table].append(staging[table](len(batch_items), record))
                        batch_items.append(item)
                        batch.records += 1
            else:
                self._add(item, staging)
            size += 1
            if size >= batch_rows:
                yield batch.seal(formatters)
                batch = self.batch = Batch()
                rows, batch_items, size = batch.rows, batch.items, 0
        if len(batch):
            yield batch.seal(formatters)
            self.batch = Batch()

    def _add(self, item: Item, staging: dict) -> None:
        """An item of records as dicts (CSV, OTLP, Langfuse, in-memory), or an error."""
        if item.error is not None:
            self.reject(item, item.error)
            return
        try:
            records = [self.validator.validate(record) for record in item.payload]
        except RecordError as exc:
            self.reject(item, str(exc))
            return
        if any(_contains_nul(r) for r in records):
            self.reject(item, NUL_REASON)
            return
        batch = self.batch
        seq = len(batch.items)
        batch.items.append(item)
        for record in records:
            table = record.pop("record")
            batch.rows[table].append(staging[table](seq, record))
        batch.records += len(records)


class _Writer(threading.Thread):
    """Writes the batches it is handed, in order, on its own connection."""

    def __init__(self, writer: BatchWriter, strict: bool, reject_conn: psycopg.Connection):
        super().__init__(daemon=True, name="asp-load-writer")
        self.writer = writer
        self.strict = strict
        self.reject_conn = reject_conn
        self.queue: queue.Queue[Batch | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self.counts = Counts()
        self.refused = False  # strict: a reject was found, the transaction rolls back
        self.error: BaseException | None = None
        self.abort = False

    def run(self) -> None:
        try:
            if self.strict:
                self._run_strict()
            else:
                while (batch := self.queue.get()) is not None:
                    if not self.abort:
                        self.counts.add(self.writer.write_committed(batch))
        except BaseException as exc:  # handed to the main thread
            self.error = exc
            while self.queue.get() is not None:  # let the producer finish
                pass

    def _run_strict(self) -> None:
        writer = self.writer
        with writer.conn.transaction() as transaction:
            while (batch := self.queue.get()) is not None:
                if self.abort:
                    continue
                counts, rejects = writer.write(batch, data=not self.refused)
                if rejects:
                    self.refused = True
                    # Kept whatever happens to the file: they say why it was refused.
                    store_rejects(self.reject_conn, writer.load_id, writer.source_identity, rejects)
                self.counts.add(counts)
            if self.refused or self.abort:
                raise psycopg.Rollback(transaction)

    def put(self, batch: Batch) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self.queue.put(None)
        self.join()
        if self.error is not None:
            raise self.error


class SchemaNotReady(ValueError):
    pass


class SourceLoader:
    """Loads sources one after another through one pair of connections: `data` for the
    records (used by the writer thread), `control` for the ledger and strict rejects."""

    def __init__(self, info: ConnectionInfo, validator: RecordValidator, strict: bool = False,
                 batch_rows: int = DEFAULT_BATCH_ROWS, progress: Progress | None = None):
        self.info = info
        self.validator = validator
        self.strict = strict
        self.batch_rows = batch_rows
        self.progress = progress
        self.context = ParseContext(roles=validator.vocabulary.roles, langfuse_traces={})
        self._data: psycopg.Connection | None = None
        self._control: psycopg.Connection | None = None

    def __enter__(self) -> SourceLoader:
        self._data = connect(self.info, autocommit=True)
        if self._data.execute("select to_regclass('raw.rejected_records')").fetchone()[0] is None:
            self._data.close()
            raise SchemaNotReady(
                f"{self.info.describe()} lacks the loader's tables (migration 0004): "
                "run `asp-telemetry db upgrade` first"
            )
        prepare_staging(self._data)
        self._control = connect(self.info, autocommit=True)
        return self

    @property
    def control(self) -> psycopg.Connection:
        assert self._control is not None
        return self._control

    def __exit__(self, *exc_info) -> None:
        for conn in (self._data, self._control):
            if conn is not None:
                if not conn.closed and conn is self._data:
                    try:
                        conn.execute("discard temp")  # the staging tables, now rather than at exit
                    except psycopg.Error:
                        pass
                conn.close()

    def load_source(self, source: Source, format: str | None = None, table: str | None = None) -> FileLoadSummary:
        summary = FileLoadSummary(source=source.name, format=format)
        summary.load_id = ledger.open_load(self._control, source.name, source.sha256, source.size, table, self.strict)
        if self.progress:
            self.progress.start(source.name, source.size)
        try:
            stream = source.open()
            summary.format = summary.format or detect.detect(source.head, table)
            items = parse(stream, summary.format, table, self.context)
            self.load_items(summary, items, source.identity, source.bytes_read)
        except INPUT_ERRORS as exc:
            summary.status = "failed"
            summary.error = str(exc) if isinstance(exc, ValueError) else f"unreadable input ({exc})"
            if summary.loaded or summary.duplicates or summary.rejected:
                summary.error += "; what was read before it is loaded, load the file again once it is repaired"
        except BaseException:
            summary.status, summary.error = "failed", "interrupted"
            self._close(source, summary)
            raise
        finally:
            source.close()
        return self._close(source, summary)

    def load_items(self, summary: LoadSummary, items: Iterable[Item], source_identity: str,
                   bytes_read: Callable[[], int] | None = None) -> None:
        """Validate and write the items of one source, updating `summary`. An input error
        part-way still writes what was read before it (or, strict, rolls it all back)."""
        writer = BatchWriter(self._data, summary.load_id, summary.source, source_identity)
        thread = _Writer(writer, self.strict, self._control)
        thread.start()
        batcher = Batcher(self.validator, summary.source, self.batch_rows)
        try:
            for batch in batcher.batches(items):
                thread.put(batch)
                if self.progress and bytes_read:
                    self.progress.advance(bytes_read())
        except INPUT_ERRORS:
            thread.abort = self.strict
            if not self.strict and len(batcher.batch):
                thread.put(batcher.batch.seal(batcher.formatters))
            thread.close()
            _apply(summary, thread.counts)
            raise
        except BaseException:
            thread.abort = True
            try:
                thread.close()
            except Exception:
                pass
            _apply(summary, thread.counts)
            raise
        thread.close()
        if thread.refused:
            summary.status = "rolled_back"
        _apply(summary, thread.counts)

    def _close(self, source: Source, summary: FileLoadSummary) -> FileLoadSummary:
        summary.content_sha256 = source.content_sha256()
        ledger.close_load(
            self._control, summary.load_id, status=summary.status, format=summary.format,
            content_sha256=summary.content_sha256, size_bytes=source.size or source.bytes_read() or None,
            loaded=summary.loaded, updated=summary.updated, duplicates=summary.duplicates,
            rejected=summary.rejected,
        )
        if self.progress:
            self.progress.finish(summary)
        return summary


def _apply(summary: LoadSummary, counts: Counts) -> None:
    summary.loaded, summary.updated = counts.loaded, counts.updated
    summary.duplicates, summary.rejected = counts.duplicates, counts.rejected
    if summary.status == "rolled_back":  # nothing of it stayed
        summary.loaded = summary.updated = summary.duplicates = 0
