"""`asp-telemetry load --target spark`: the loader's own pipeline (loading/source_loader.py:
open, detect, parse, validate in batches, write on a writer thread, record the outcome), with
the lake's writer (writer.py) and ledger (ledger.py) behind it instead of PostgreSQL's.

What differs is what a lake is: append-only files. A batch is visible whole or not at all
(hidden files renamed once all are written); a --strict load's files are renamed only when
the whole source had no reject; loading a file again appends it again (staging counts each
identity once), and the ledger records each load.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from asp_telemetry.lake import ledger
from asp_telemetry.lake import paths as lake_paths
from asp_telemetry.lake.files import LakeWriteError, remove_abandoned
from asp_telemetry.lake.writer import LakeBatchWriter
from asp_telemetry.loading import vocabulary
from asp_telemetry.loading.batcher import DEFAULT_BATCH_ROWS
from asp_telemetry.loading.limits import Limits
from asp_telemetry.loading.records import RecordValidator
from asp_telemetry.loading.source_loader import SourceLoader
from asp_telemetry.loading.sources import Source, expand
from asp_telemetry.loading.summary import FileLoadSummary, LoadSummary, Progress
from asp_telemetry.loading.writer_thread import WriterThread


class LakeWriterThread(WriterThread):
    """The writer thread with the lake's writer: the same queue and hand-over; --strict keeps
    the source's files hidden until its end, then shows them all or deletes them."""

    def __init__(self, writer: LakeBatchWriter, strict: bool):
        super().__init__(writer, strict, None)  # type: ignore[arg-type]  # rejects go to the lake

    def _run_strict(self) -> None:
        writer: LakeBatchWriter = self.writer  # type: ignore[assignment]
        try:
            self._write_strict_batches()
        except BaseException:
            writer.discard()
            raise
        if self.refused or self.abort:
            writer.discard()
        else:
            writer.commit()

    def _store_rejects(self, rejects: list) -> None:
        self.writer.store_rejects(rejects)  # type: ignore[attr-defined]

    def stop_now(self) -> None:
        self.abort = True  # the batch being written finishes; nothing queued is written


class LakeSourceLoader(SourceLoader):
    """Loads sources into the lake, one after another."""

    WRITE_ERRORS = (LakeWriteError,)
    COPY_TEXT = False

    def __init__(self, lake: Path, validator: RecordValidator, strict: bool = False,
                 batch_rows: int = DEFAULT_BATCH_ROWS, progress: Progress | None = None,
                 limits: Limits | None = None):
        super().__init__(None, validator, strict=strict, batch_rows=batch_rows,  # type: ignore[arg-type]
                         progress=progress, limits=limits)
        self.lake = lake
        self._started: dict[str, tuple[datetime, str | None]] = {}

    def __enter__(self) -> LakeSourceLoader:
        try:
            self.lake.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LakeWriteError(
                f"cannot make the lake directory {self.lake} ({exc.strerror or exc}): set ASP_LAKE to a "
                "directory this user can write"
            ) from exc
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def connection_lost(self) -> bool:
        return False

    def open_ledger(self, name: str, sha256: str | None, size: int | None, table: str | None) -> str:
        started = datetime.now(UTC)
        load_id = lake_paths.new_load_id(started)
        self._started[load_id] = (started, table)
        return load_id

    def _writer_thread(self, summary: LoadSummary, source_identity: str) -> WriterThread:
        writer = LakeBatchWriter(self.lake, str(summary.load_id), summary.source, source_identity)
        return LakeWriterThread(writer, self.strict)

    def _write_error(self, summary: LoadSummary, exc: Exception) -> None:
        summary.status, summary.retryable = "interrupted", True  # the lake, not the file (the inbox keeps it)
        summary.error = (
            f"the lake could not be written ({exc}); the batches written before stay: "
            "load the file again once that is fixed (staging counts each record once)"
        )

    def _close(self, source: Source, summary: FileLoadSummary) -> FileLoadSummary:
        summary.content_sha256 = source.content_sha256()
        self.finish_ledger(summary, summary.format, summary.content_sha256, source.size or source.bytes_read() or None)
        if self.progress:
            self.progress.finish(summary)
        return summary

    def finish_ledger(self, summary: LoadSummary, format: str | None, content_sha256: str | None,
                      size_bytes: int | None) -> None:
        started, table = self._started.pop(str(summary.load_id), (datetime.now(UTC), None))
        try:
            ledger.record_load(self.lake, summary, started_at=started, format=format, content_sha256=content_sha256,
                               size_bytes=size_bytes, table_name=table, strict=self.strict)
        except LakeWriteError as exc:
            if summary.ok:
                summary.status = "interrupted"
            summary.error = "; ".join(filter(None, [summary.error, f"its ledger row was not written ({exc})"]))


def load_paths(
    lake: Path,
    paths: Iterable[str | os.PathLike],
    format: str | None = None,
    table: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    limits: Limits | None = None,
    follow_links: bool = False,
) -> list[FileLoadSummary]:
    """loading.load_paths into the lake: files, directories (their files, recursively) and
    "-" (stdin), one summary per file, with the same validation and rejects."""
    from asp_telemetry.loading import check_options

    check_options(format, table)
    sources = expand(list(paths), follow_links=follow_links)
    validator = RecordValidator(vocabulary.load())
    with LakeSourceLoader(lake, validator, strict=strict, batch_rows=batch_rows, progress=progress,
                          limits=limits) as loader:
        remove_abandoned(lake)  # once per load of files, not per batch or per snapshot
        return [loader.load_source(source, format=format, table=table) for source in sources]


def load_records(lake: Path, records: Iterable[dict], source: str, strict: bool = False,
                 batch_rows: int = DEFAULT_BATCH_ROWS) -> LoadSummary:
    """loading.load_records into the lake: native records built in memory (each a dict with
    its "record" key), with the same validation and rejects as a file."""
    from asp_telemetry.loading.formats import items_from_records

    validator = RecordValidator(vocabulary.load())
    summary = LoadSummary(source=source)
    items = items_from_records(records)
    with LakeSourceLoader(lake, validator, strict=strict, batch_rows=batch_rows) as loader:
        summary.load_id = loader.open_ledger(source, None, None, None)
        try:
            loader.load_items(summary, items, f"records:{source}")
        except BaseException:
            summary.status, summary.error = "interrupted", "interrupted"
            raise
        finally:
            loader.finish_ledger(summary, "records", None, None)
    return summary
