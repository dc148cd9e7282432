"""The load of one source: parse, validate, batch, write, summarise.

The main thread parses and validates; a writer thread sends batches to PostgreSQL, so the two
work at once and at most a couple of batches are ever in memory, whatever the input's size
(a batch is bounded in records and in bytes, and a record in bytes). Without --strict each
batch commits on its own (a load killed halfway leaves whole batches, and loading again
completes it); with --strict the whole source is one transaction, rolled back at the first
reject (the rejects are still recorded, through a second connection).

One record costs that record, never the load: whatever goes wrong while parsing, validating,
mapping or writing one record (or one trace) rejects it with the reason. What goes wrong with
a whole source (unreadable, too large, its time limit, a lost connection) ends that source
with a status and a message saying what to do, and the next source loads.
"""

from __future__ import annotations

import queue
import threading
import time
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
from asp_telemetry.loading.writer import Batch, BatchWriter, Counts, prepare_staging, storable, store_rejects

DEFAULT_BATCH_ROWS = 50_000
BATCH_BYTES = 32 << 20  # a batch closes at this many bytes of input, whatever its rows
DEFAULT_MAX_RECORD_BYTES = 8 << 20
DEFAULT_MAX_DOCUMENT_BYTES = 128 << 20
QUEUED_BATCHES = 2
DEADLINE_EVERY = 1024  # items between two looks at the clock
NUL_ESCAPE = b"\\u0000"
NUL_REASON = "contains a NUL character (\\u0000), which PostgreSQL cannot store"
# Input that cannot be read (as opposed to records that are wrong): the source fails.
INPUT_ERRORS = (UnreadableInput, FormatError, OSError, EOFError, UnicodeDecodeError)
LOST_CONNECTION = (
    "the connection to the database was lost ({}): load it again once the database is back; the batches "
    "committed before stay and are recognised, so nothing is loaded twice"
)


@dataclass(frozen=True)
class Limits:
    """Bounds on one load, whatever its input: a record's size (a native line, a CSV row), the
    size of an input read whole (OTLP, Langfuse), and the time one source may take."""

    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    time_limit_s: float | None = None


class LoadTimedOut(Exception):
    """A source reached its time limit."""


@dataclass
class LoadSummary:
    """What became of one source's records: read = loaded + updated + duplicates + rejected."""

    source: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    status: str = "complete"  # complete | rolled_back | failed | interrupted | skipped
    error: str | None = None
    load_id: int | None = None
    retryable: bool = False  # interrupted by something passing (a lost connection): try again

    @property
    def ok(self) -> bool:
        return self.status in ("complete", "skipped")

    @property
    def conserved(self) -> bool:
        """Every record read is accounted for (a rolled-back load keeps only its rejects)."""
        return self.status == "rolled_back" or self.read == self.loaded + self.updated + self.duplicates + self.rejected

    def line(self) -> str:
        if self.status == "skipped":
            return f"{self.source}: skipped, {self.error}"
        parts = [f"{self.loaded} loaded"]
        if self.updated:
            parts.append(f"{self.updated} updated")
        parts += [f"{self.duplicates} duplicates skipped", f"{self.rejected} rejected"]
        text = f"{self.source}: {self.read} read: {', '.join(parts)}"
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
    """What parsers need beyond their input: the limits, the known agent roles (a Langfuse
    SPAN named after one is an agent execution) and the Langfuse traces seen so far in this
    load."""

    limits: Limits
    roles: frozenset[str]
    langfuse_traces: dict[str, dict[str, Any]]


def parse(stream, format: str, table: str | None, context: ParseContext) -> Iterator[Item]:
    limits = context.limits
    if format == "native":
        return native.parse(stream, limits.max_record_bytes)
    if format == "csv":
        return csv_format.parse(stream, table, limits.max_record_bytes)
    if format == "otlp":
        return otlp.parse(stream, limits.max_document_bytes)
    if format == "langfuse":
        return langfuse.parse(stream, context.langfuse_traces, context.roles, limits.max_document_bytes)
    raise FormatError(f"unknown format {format!r} (native, csv, otlp or langfuse)")


def _contains_nul(value: Any) -> bool:
    """Whether a NUL character is anywhere in a value (iteratively: JSON may nest deeply)."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
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
        return kind if isinstance(kind, str) and kind in TABLE_LOADS else None
    if item.payload:
        kind = item.payload[0].get("record") if isinstance(item.payload[0], dict) else None
        return kind if isinstance(kind, str) and kind in TABLE_LOADS else None
    return None


def _unexpected(exc: BaseException) -> str:
    return f"cannot be loaded ({type(exc).__name__}: {exc})"


class Batcher:
    """Validates items into batches of staging rows."""

    def __init__(self, validator: RecordValidator, source_name: str, batch_rows: int,
                 deadline: float | None = None, batch_bytes: int = BATCH_BYTES):
        self.validator = validator
        self.source_name = source_name
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.deadline = deadline
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
                original_bytes=item.original_bytes(),
            )
        )

    def batches(self, items: Iterable[Item]) -> Iterator[Batch]:
        validate_json = self.validator.validate_json_fast
        staging = {name: table.row_builder() for name, table in TABLE_LOADS.items()}
        formatters = self.formatters
        batch_rows, batch_bytes, deadline = self.batch_rows, self.batch_bytes, self.deadline
        batch = self.batch
        rows, batch_items, size, nbytes = batch.rows, batch.items, 0, 0
        step = min(DEADLINE_EVERY, batch_rows)
        check_at = step  # the next size at which to look at the clock and the batch's rows
        for item in items:
            payload = item.payload
            if item.error is None and type(payload) is bytes:  # a native line: the hot path
                nbytes += len(payload)
                try:
                    record = validate_json(payload)
                except ValidationError as exc:
                    self.reject(item, describe(exc))
                else:
                    if NUL_ESCAPE in payload and _contains_nul(record):
                        self.reject(item, NUL_REASON)
                    else:
                        table = record.pop("record")
                        try:
                            row = staging[table](len(batch_items), record)
                        except Exception as exc:  # noqa: BLE001 - the record costs itself only
                            self.reject(item, _unexpected(exc))
                        else:
                            rows[table].append(row)
                            batch_items.append(item)
                            batch.records += 1
            else:
                nbytes += len(item.text)
                self._add(item, staging)
            size += 1
            if size >= check_at or nbytes >= batch_bytes:
                if deadline is not None and time.monotonic() > deadline:
                    raise LoadTimedOut
                check_at = min(size + step, batch_rows)
                if size >= batch_rows or nbytes >= batch_bytes:
                    yield batch.seal(formatters)
                    batch = self.batch = Batch()
                    rows, batch_items, size, nbytes, check_at = batch.rows, batch.items, 0, 0, step
        if len(batch):
            yield batch.seal(formatters)
            self.batch = Batch()

    def _add(self, item: Item, staging: dict) -> None:
        """An item of records as dicts (CSV, OTLP, Langfuse, in-memory), or an error: all its
        records go in, or the item is one reject."""
        if item.error is not None:
            self.reject(item, item.error)
            return
        batch = self.batch
        seq = len(batch.items)
        try:
            records = [self.validator.validate(record) for record in item.payload]
            if any(_contains_nul(r) for r in records):
                self.reject(item, NUL_REASON)
                return
            built = []
            for record in records:
                table = record.pop("record")
                built.append((table, staging[table](seq, record)))
        except RecordError as exc:
            self.reject(item, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the item costs itself only
            self.reject(item, _unexpected(exc))
            return
        batch.items.append(item)
        for table, row in built:
            batch.rows[table].append(row)
        batch.records += len(built)


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

    def put(self, batch: Batch | None, deadline: float | None) -> None:
        while True:
            if self.error is not None:
                raise self.error
            if deadline is not None and time.monotonic() > deadline:
                self.stop_now()
                raise LoadTimedOut
            try:
                self.queue.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def stop_now(self) -> None:
        """Skip what is queued and cancel the statement running, if any."""
        self.abort = True
        try:
            self.writer.conn.cancel_safe()
        except (psycopg.Error, OSError):
            pass

    def close(self, deadline: float | None = None) -> None:
        """The end of the batches: wait for the writer to finish them (until the deadline)."""
        timed_out = False
        while True:  # the end marker always goes in: a writer that failed drains to it
            if deadline is not None and not timed_out and time.monotonic() > deadline:
                self.stop_now()
                timed_out = True
            try:
                self.queue.put(None, timeout=0.5)
                break
            except queue.Full:
                continue
        if timed_out:
            self.join()
            raise LoadTimedOut
        while self.is_alive():
            self.join(timeout=0.5)
            if deadline is not None and time.monotonic() > deadline and self.is_alive():
                self.stop_now()
                self.join()
                raise LoadTimedOut
        if self.error is not None:
            raise self.error

    def close_quietly(self) -> None:
        """Join, whatever the writer's error (the caller is raising one of its own)."""
        self.abort = True
        try:
            self.close()
        except Exception:  # noqa: BLE001 - the caller's error says what happened
            pass


class SchemaNotReady(ValueError):
    pass


class SourceLoader:
    """Loads sources one after another through one pair of connections: `data` for the
    records (used by the writer thread), `control` for the ledger and strict rejects. A
    connection lost during one source is opened again for the next."""

    def __init__(self, info: ConnectionInfo, validator: RecordValidator, strict: bool = False,
                 batch_rows: int = DEFAULT_BATCH_ROWS, progress: Progress | None = None,
                 limits: Limits | None = None):
        self.info = info
        self.validator = validator
        self.strict = strict
        self.batch_rows = batch_rows
        self.progress = progress
        self.limits = limits or Limits()
        self.context = ParseContext(limits=self.limits, roles=validator.vocabulary.roles, langfuse_traces={})
        self._data: psycopg.Connection | None = None
        self._control: psycopg.Connection | None = None

    def __enter__(self) -> SourceLoader:
        self._data = connect(self.info, autocommit=True)
        ready = self._data.execute(  # 0006's original_bytes and 0007's ledger function
            "select exists (select from information_schema.columns where table_schema = 'raw'"
            " and table_name = 'rejected_records' and column_name = 'original_bytes')"
            " and to_regprocedure('raw.interrupt_abandoned_loads()') is not null"
        ).fetchone()[0]
        if not ready:
            self._data.close()
            raise SchemaNotReady(
                f"{self.info.describe()} lacks the loader's tables (migrations 0004 to 0007): "
                "run `asp-telemetry db upgrade` first"
            )
        prepare_staging(self._data)
        self._control = connect(self.info, autocommit=True)
        try:
            ledger.mark_abandoned(self._control)
        except psycopg.Error:  # best effort (a role without the right): a later load marks them
            pass
        return self

    @property
    def control(self) -> psycopg.Connection:
        assert self._control is not None
        return self._control

    def __exit__(self, *exc_info) -> None:
        for conn in (self._data, self._control):
            if conn is not None:
                if not conn.closed and not conn.broken and conn is self._data:
                    try:
                        conn.execute("discard temp")  # the staging tables, now rather than at exit
                    except psycopg.Error:
                        pass
                conn.close()

    def connection_lost(self) -> bool:
        return any(conn is None or conn.closed or conn.broken for conn in (self._data, self._control))

    def reconnect(self) -> None:
        """Open again whichever connection was lost (raises DatabaseUnavailable if it cannot)."""
        if self._data is None or self._data.closed or self._data.broken:
            if self._data is not None:
                self._data.close()
            self._data = connect(self.info, autocommit=True)
            prepare_staging(self._data)
        if self._control is None or self._control.closed or self._control.broken:
            if self._control is not None:
                self._control.close()
            self._control = connect(self.info, autocommit=True)

    def open_ledger(self, name: str, sha256: str | None, size: int | None, table: str | None) -> int:
        """The load's ledger row; the connections are opened again first if they were lost
        (DatabaseUnavailable if the database cannot be reached)."""
        if self.connection_lost():
            self.reconnect()
        try:
            return ledger.open_load(self._control, storable(name), sha256, size, table, self.strict)
        except psycopg.OperationalError:  # lost since the last load, unnoticed until now
            self.reconnect()
            return ledger.open_load(self._control, storable(name), sha256, size, table, self.strict)

    def load_source(self, source: Source, format: str | None = None, table: str | None = None) -> FileLoadSummary:
        summary = FileLoadSummary(source=source.name, format=format)
        if source.skipped:
            summary.status, summary.error = "skipped", source.skipped
            if self.progress:
                self.progress.finish(summary)
            return summary
        summary.load_id = self.open_ledger(source.name, source.sha256, source.size, table)
        if self.progress:
            self.progress.start(source.name, source.size)
        time_limit = self.limits.time_limit_s
        deadline = time.monotonic() + time_limit if time_limit else None
        try:
            stream = source.open()
            summary.format = summary.format or detect.detect(source.head, table)
            items = parse(stream, summary.format, table, self.context)
            self.load_items(summary, items, source.identity, source.bytes_read, deadline)
        except INPUT_ERRORS as exc:
            summary.status = "failed"
            summary.error = str(exc) if isinstance(exc, ValueError) else f"unreadable input ({exc})"
            if summary.read:
                summary.error += "; what was read before it is loaded, load the file again once it is repaired"
        except LoadTimedOut:
            summary.status = "interrupted"
            summary.error = (
                f"stopped at its time limit of {time_limit:g} s; what was committed before stays: load it again "
                "(nothing is loaded twice) with a longer limit, or split it"
            )
        except psycopg.Error as exc:
            self._database_error(summary, exc)
        except Exception as exc:  # noqa: BLE001 - one source's failure never stops the others
            summary.status = "failed"
            summary.error = (
                f"could not be loaded ({type(exc).__name__}: {exc}); this is a bug in the loader, please report it"
            )
        except BaseException:
            summary.status, summary.error = "interrupted", "interrupted"
            self._close(source, summary)
            raise
        finally:
            source.close()
        return self._close(source, summary)

    def _database_error(self, summary: LoadSummary, exc: psycopg.Error) -> None:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if self.connection_lost():
            summary.status, summary.retryable = "interrupted", True
            summary.error = LOST_CONNECTION.format(first_line)
        elif isinstance(exc, psycopg.OperationalError):  # a cancelled statement, a full disk, a lock timeout
            summary.status, summary.retryable = "interrupted", True
            summary.error = f"the database stopped the load ({first_line}): load it again (nothing is loaded twice)"
        else:
            summary.status = "failed"
            summary.error = f"refused by the database ({first_line}); load it again once that is fixed"

    def load_items(self, summary: LoadSummary, items: Iterable[Item], source_identity: str,
                   bytes_read: Callable[[], int] | None = None, deadline: float | None = None) -> None:
        """Validate and write the items of one source, updating `summary`. An input error
        part-way still writes what was read before it (or, strict, rolls it all back)."""
        writer = BatchWriter(self._data, summary.load_id, summary.source, source_identity)
        thread = _Writer(writer, self.strict, self._control)
        thread.start()
        batcher = Batcher(self.validator, summary.source, self.batch_rows, deadline)
        try:
            for batch in batcher.batches(items):
                thread.put(batch, deadline)
                if self.progress and bytes_read:
                    self.progress.advance(bytes_read())
        except (LoadTimedOut, psycopg.Error):
            thread.stop_now()
            thread.close_quietly()
            _apply(summary, thread.counts)
            raise
        except Exception:  # the input (or a parser) failed part-way: what was read before is written
            thread.abort = self.strict
            try:
                if not self.strict and len(batcher.batch):
                    thread.put(batcher.batch.seal(batcher.formatters), deadline)
                thread.close(deadline)
            except BaseException:  # the time limit, or the writer's own failure, says what happened
                thread.close_quietly()
                _apply(summary, thread.counts)
                raise
            _apply(summary, thread.counts)
            raise
        except BaseException:
            thread.close_quietly()
            _apply(summary, thread.counts)
            raise
        try:
            thread.close(deadline)
        except (LoadTimedOut, psycopg.Error):
            _apply(summary, thread.counts)
            raise
        if thread.refused:
            summary.status = "rolled_back"
        _apply(summary, thread.counts)

    def _close(self, source: Source, summary: FileLoadSummary) -> FileLoadSummary:
        summary.content_sha256 = source.content_sha256()
        close_ledger(self.info, self._control, summary, summary.format, summary.content_sha256,
                     source.size or source.bytes_read() or None)
        if self.progress:
            self.progress.finish(summary)
        return summary


def close_ledger(info: ConnectionInfo, conn: psycopg.Connection | None, summary: LoadSummary, format: str | None,
                 content_sha256: str | None, size_bytes: int | None) -> None:
    """Close the load's ledger row; through a new connection if the load's own was lost. If
    the database cannot be reached at all, the row stays `running` without its lock, and the
    next load marks it interrupted."""
    if summary.load_id is None:
        return
    if not summary.conserved and summary.error is None:
        accounted = summary.loaded + summary.updated + summary.duplicates + summary.rejected
        summary.error = (
            f"{summary.read} records read but {accounted} accounted for: this is a bug in the loader, please report it"
        )
    values = dict(
        status=summary.status, format=format, content_sha256=content_sha256, size_bytes=size_bytes,
        read=summary.read, loaded=summary.loaded, updated=summary.updated, duplicates=summary.duplicates,
        rejected=summary.rejected, error=storable(summary.error) if summary.error else None,
    )
    if conn is not None and not conn.closed and not conn.broken:
        try:
            ledger.close_load(conn, summary.load_id, **values)
            return
        except psycopg.OperationalError:
            pass
    try:
        with connect(info, autocommit=True) as fresh:
            ledger.close_load(fresh, summary.load_id, **values)
    except Exception:  # noqa: BLE001 - best effort: the next load marks the row interrupted
        pass


def _apply(summary: LoadSummary, counts: Counts) -> None:
    summary.read = counts.read
    summary.loaded, summary.updated = counts.loaded, counts.updated
    summary.duplicates, summary.rejected = counts.duplicates, counts.rejected
    if summary.status == "rolled_back":  # nothing of it stayed
        summary.loaded = summary.updated = summary.duplicates = 0
