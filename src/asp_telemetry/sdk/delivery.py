"""The background writer: callers enqueue, one thread batches and delivers.

Nothing is dropped while a disk can be written: when the queue is full, the caller writes
its records to the spool itself; when the postgres sink cannot reach the database, the
batch goes to the spool (the inbox) for the ingest flow. Survives fork (the child starts a
writer of its own) and flushes at interpreter exit. Never raises into the agent.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import util as multiprocessing_util

from asp_telemetry.sdk.config import SdkConfig
from asp_telemetry.sdk.sinks import DatabaseUnreachable, PostgresSink, Sink, SpoolSink

logger = logging.getLogger("asp_telemetry.sdk")

# An item is a ready record (dict) or something that turns into records on the writer thread.
Item = dict | Callable[[], list[dict]]


@dataclass
class SdkStats:
    delivered: int = 0  # records written to the configured sink
    spooled: int = 0  # records written to the spool instead (queue full or database unreachable)
    dropped: int = 0  # records lost: could be written nowhere
    errors: int = 0  # SDK-internal errors (logged, never raised into the agent)


class BackgroundWriter:
    def __init__(self, config: SdkConfig):
        self.config = config
        self.stats = SdkStats()
        self.sink: Sink = (
            PostgresSink(config.database_url) if config.sink == "postgres" else SpoolSink(config.spool_dir)
        )
        self.spool = SpoolSink(config.spool_dir)
        self._pending: deque[Item] = deque()
        self._state = threading.Condition()
        self._wakeup = threading.Event()
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- caller side ------------------------------------------------------------------------
    def submit(self, item: Item) -> None:
        if len(self._pending) >= self.config.max_queue:
            self._write_to_spool(_records_of([item]))
            return
        self._pending.append(item)
        if self._thread is None:
            self._start()
        if len(self._pending) >= self.config.batch_size:
            self._wakeup.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is delivered. False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._thread is None or not self._thread.is_alive():
            self._drain()
            return True
        self._wakeup.set()
        with self._state:
            while self._pending or self._in_flight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._wakeup.set()
                self._state.wait(min(0.05, remaining) if remaining is not None else 0.05)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued and stop the thread (at exit)."""
        self._closed = True
        self._wakeup.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
        self._drain()  # whatever the thread did not get to, on this thread
        if self.stats.dropped:
            logger.error("asp-telemetry SDK dropped %d record(s) in this process", self.stats.dropped)

    # -- writer thread -----------------------------------------------------------------------
    def _start(self) -> None:
        with self._state:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="asp-telemetry-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wakeup.wait(self.config.flush_interval_s)
            self._wakeup.clear()
            self._drain()
            if self._closed and not self._pending:
                return

    def _drain(self) -> None:
        while self._pending:
            batch: list[Item] = []
            with self._state:
                while self._pending and len(batch) < self.config.batch_size:
                    batch.append(self._pending.popleft())
                self._in_flight += len(batch)
            try:
                self._deliver(_records_of(batch))
            except Exception:  # noqa: BLE001 - the SDK never raises into the agent
                self.stats.errors += 1
                logger.exception("asp-telemetry SDK: could not build a batch of records")
            finally:
                with self._state:
                    self._in_flight -= len(batch)
                    self._state.notify_all()

    def _deliver(self, records: list[dict]) -> None:
        if not records:
            return
        try:
            self.sink.write(records)
            self.stats.delivered += len(records)
        except DatabaseUnreachable as exc:
            logger.warning("asp-telemetry SDK: database unreachable (%s); %d record(s) spooled", exc, len(records))
            self._write_to_spool(records)
        except Exception:  # noqa: BLE001
            self.stats.errors += 1
            logger.exception("asp-telemetry SDK: sink failed; spooling %d record(s)", len(records))
            self._write_to_spool(records)

    def _write_to_spool(self, records: list[dict]) -> None:
        # Callers reach this too (queue full), so the counters are updated under the lock.
        try:
            self.spool.write(records)
            with self._state:
                self.stats.spooled += len(records)
        except Exception:  # noqa: BLE001
            with self._state:
                self.stats.dropped += len(records)
                self.stats.errors += 1
            logger.exception("asp-telemetry SDK: could not spool %d record(s): dropped", len(records))


def _records_of(items: list[Item]) -> list[dict]:
    records: list[dict] = []
    for item in items:
        if isinstance(item, dict):
            records.append(item)
        else:
            records.extend(item())
    return records


# -- the process's writer ----------------------------------------------------------------------
_writer: BackgroundWriter | None = None
_writer_lock = threading.Lock()
_config: SdkConfig | None = None


def configure(config: SdkConfig) -> None:
    global _writer, _config
    with _writer_lock:
        previous, _writer, _config = _writer, None, config
    if previous is not None:
        previous.close()


def writer() -> BackgroundWriter:
    global _writer, _config
    current = _writer
    if current is not None:
        return current
    with _writer_lock:
        if _writer is None:
            _config = _config or SdkConfig.from_environment()
            _writer = BackgroundWriter(_config)
        return _writer


def count_error(message: str) -> None:
    """An SDK misuse or failure: logged and counted, never raised into the agent."""
    try:
        writer().stats.errors += 1
        logger.warning("asp-telemetry SDK: %s", message)
    except Exception:  # noqa: BLE001 - not even a broken configuration may raise here
        pass


def count_dropped(message: str, records: int = 1) -> None:
    try:
        stats = writer().stats
        stats.dropped += records
        stats.errors += 1
        logger.error("asp-telemetry SDK: %s (dropped; %d dropped so far)", message, stats.dropped)
    except Exception:  # noqa: BLE001
        pass


def _after_fork_in_child() -> None:
    # The parent's thread does not exist here and its queue is the parent's to deliver:
    # start afresh (lazily) with the same configuration.
    global _writer, _writer_lock
    _writer_lock = threading.Lock()
    _writer = None


def _at_exit() -> None:
    if _writer is not None:
        _writer.close()


class _ForkHook:
    """Weak-referenceable owner of the multiprocessing after-fork registration below."""


def _deliver_at_multiprocessing_exit(_: object) -> None:
    # multiprocessing's children leave through os._exit, which skips atexit; they run
    # their finalizers first, so deliver there.
    multiprocessing_util.Finalize(None, _at_exit, exitpriority=10)


_FORK_HOOK = _ForkHook()
os.register_at_fork(after_in_child=_after_fork_in_child)
multiprocessing_util.register_after_fork(_FORK_HOOK, _deliver_at_multiprocessing_exit)
atexit.register(_at_exit)

