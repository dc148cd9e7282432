"""The load of sources, one after another: open each, detect its format, parse, validate in
batches (batcher), write them on the writer thread, and record the outcome in the ledger.

One record costs that record, never the load: whatever goes wrong while parsing, validating,
mapping or writing one record (or one trace) rejects it with the reason. What goes wrong with
a whole source (unreadable, too large, its time limit, a lost connection) ends that source
with a status and a message saying what to do, and the next source loads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import psycopg

from asp_telemetry.connection import ConnectionInfo, connect
from asp_telemetry.errors import SchemaNotReady
from asp_telemetry.loading import ledger
from asp_telemetry.loading.batcher import DEFAULT_BATCH_ROWS, Batcher
from asp_telemetry.loading.formats import FormatError, Item, registry
from asp_telemetry.loading.limits import Limits, LoadTimedOut
from asp_telemetry.loading.records import RecordValidator
from asp_telemetry.loading.rejects import storable
from asp_telemetry.loading.sources import Source, UnreadableInput
from asp_telemetry.loading.summary import FileLoadSummary, LoadSummary, Progress
from asp_telemetry.loading.writer import BatchWriter, prepare_staging
from asp_telemetry.loading.writer_thread import WriterThread

# Input that cannot be read (as opposed to records that are wrong): the source fails.
INPUT_ERRORS = (UnreadableInput, FormatError, OSError, EOFError, UnicodeDecodeError)
LOST_CONNECTION = (
    "the connection to the database was lost ({}): load it again once the database is back; the batches "
    "committed before stay and are recognised, so nothing is loaded twice"
)


class SourceLoader:
    """Loads sources one after another through one pair of connections: `data` for the
    records (used by the writer thread), `control` for the ledger and strict rejects. A
    connection lost during one source is opened again for the next.

    Where the batches go is behind `_writer_thread`, `open_ledger` and `_close` (with the
    errors the writing raises, WRITE_ERRORS): the lake's loader (lake/loader.py) writes
    Parquet files through the same parsing, validation and batching."""

    WRITE_ERRORS: tuple[type[Exception], ...] = (psycopg.Error,)
    COPY_TEXT = True  # batches carry the COPY text of appended rows (the PostgreSQL fast path)

    def __init__(self, info: ConnectionInfo, validator: RecordValidator, strict: bool = False,
                 batch_rows: int = DEFAULT_BATCH_ROWS, progress: Progress | None = None,
                 limits: Limits | None = None):
        self.info = info
        self.validator = validator
        self.strict = strict
        self.batch_rows = batch_rows
        self.progress = progress
        self.limits = limits or Limits()
        self.context = registry.ParseContext(limits=self.limits, roles=validator.vocabulary.roles, langfuse_traces={})
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
            summary.format = summary.format or registry.detect_format(source.head, table)
            items = registry.parse(stream, summary.format, table, self.context)
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
        except self.WRITE_ERRORS as exc:
            self._write_error(summary, exc)
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

    def _write_error(self, summary: LoadSummary, exc: Exception) -> None:
        """What the summary says when writing failed (one of WRITE_ERRORS)."""
        self._database_error(summary, exc)

    def _writer_thread(self, summary: LoadSummary, source_identity: str) -> WriterThread:
        """The writer of one source's batches, on a thread of its own."""
        writer = BatchWriter(self._data, summary.load_id, summary.source, source_identity)
        return WriterThread(writer, self.strict, self._control)

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
        thread = self._writer_thread(summary, source_identity)
        thread.start()
        batcher = Batcher(self.validator, summary.source, self.batch_rows, deadline, copy_text=self.COPY_TEXT)
        try:
            for batch in batcher.batches(items):
                thread.put(batch, deadline)
                if self.progress and bytes_read:
                    self.progress.advance(bytes_read())
        except (LoadTimedOut, *self.WRITE_ERRORS):
            thread.stop_now()
            thread.close_quietly()
            summary.take(thread.counts)
            raise
        except Exception:  # the input (or a parser) failed part-way: what was read before is written
            thread.abort = self.strict
            try:
                if not self.strict and len(batcher.batch):
                    thread.put(batcher.batch.seal(batcher.formatters), deadline)
                thread.close(deadline)
            except BaseException:  # the time limit, or the writer's own failure, says what happened
                thread.close_quietly()
                summary.take(thread.counts)
                raise
            summary.take(thread.counts)
            raise
        except BaseException:
            thread.close_quietly()
            summary.take(thread.counts)
            raise
        try:
            thread.close(deadline)
        except (LoadTimedOut, *self.WRITE_ERRORS):
            summary.take(thread.counts)
            raise
        if thread.refused:
            summary.status = "rolled_back"
        summary.take(thread.counts)

    def _close(self, source: Source, summary: FileLoadSummary) -> FileLoadSummary:
        summary.content_sha256 = source.content_sha256()
        ledger.finish(self.info, self._control, summary, summary.format, summary.content_sha256,
                      source.size or source.bytes_read() or None)
        if self.progress:
            self.progress.finish(summary)
        return summary
