"""The writer thread: writes the batches it is handed, in order, on its own connection, while
the main thread parses and validates the next. At most QUEUED_BATCHES wait between the two.

Without --strict each batch commits on its own (a load killed halfway leaves whole batches,
and loading again completes it); with --strict the whole source is one transaction, rolled
back at the first reject (the rejects are still recorded, through a second connection).
"""

from __future__ import annotations

import queue
import threading
import time

import psycopg

from asp_telemetry.loading.limits import LoadTimedOut
from asp_telemetry.loading.rejects import store_rejects
from asp_telemetry.loading.writer import Batch, BatchWriter, Counts

QUEUED_BATCHES = 2


class WriterThread(threading.Thread):
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
        with self.writer.conn.transaction() as transaction:
            self._write_strict_batches()
            if self.refused or self.abort:
                raise psycopg.Rollback(transaction)

    def _write_strict_batches(self) -> None:
        """--strict: every batch's rejects; its data only until a batch has rejects."""
        while (batch := self.queue.get()) is not None:
            if self.abort:
                continue
            counts, rejects = self.writer.write(batch, data=not self.refused)
            if rejects:
                self.refused = True
                self._store_rejects(rejects)  # kept whatever happens: they say why it was refused
            self.counts.add(counts)

    def _store_rejects(self, rejects: list) -> None:
        store_rejects(self.reject_conn, self.writer.load_id, self.writer.source_identity, rejects)

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
