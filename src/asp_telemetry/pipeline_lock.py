"""One pipeline at a time: a PostgreSQL advisory lock held for the duration of a run.

Reentrant within a process (a pipeline's sub-flows do not wait for their own pipeline), and
held by the database session, so a crashed process releases it.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from asp_telemetry.connection import ConnectionInfo, connect
from asp_telemetry.errors import PipelineBusy

# "asp_pipeline" in ASCII; the migrations use another key.
PIPELINE_LOCK_KEY = 0x6173705F706970
_held: ContextVar[bool] = ContextVar("asp_pipeline_lock_held", default=False)


@contextmanager
def _held_while(try_acquire: Callable[[], bool], release: Callable[[], None], busy: str,
                wait_s: float, poll_s: float) -> Iterator[float]:
    """Poll `try_acquire` until it succeeds (PipelineBusy, naming `busy`, after `wait_s`), mark
    the lock held in this context, and release it at the end; yields the seconds waited."""
    started = time.monotonic()
    while not try_acquire():
        if time.monotonic() - started >= wait_s:
            raise PipelineBusy(
                f"another pipeline has been running on {busy} for more than {wait_s:.0f} s; "
                "try again later (or raise the wait)"
            )
        time.sleep(poll_s)
    token = _held.set(True)
    try:
        yield time.monotonic() - started
    finally:
        _held.reset(token)
        release()


@contextmanager
def exclusive(info: ConnectionInfo, wait_s: float = 3600.0, poll_s: float = 0.5) -> Iterator[float]:
    """Hold the pipeline lock; yields the seconds spent waiting for another pipeline."""
    if _held.get():
        yield 0.0
        return
    conn = connect(info, autocommit=True)
    try:
        with _held_while(
            lambda: conn.execute("select pg_try_advisory_lock(%s)", [PIPELINE_LOCK_KEY]).fetchone()[0],
            lambda: conn.execute("select pg_advisory_unlock(%s)", [PIPELINE_LOCK_KEY]),
            info.describe(), wait_s, poll_s,
        ) as waited:
            yield waited
    finally:
        conn.close()


@contextmanager
def exclusive_lake(lake: Path, wait_s: float = 3600.0, poll_s: float = 0.5) -> Iterator[float]:
    """The pipeline lock of a lake (the Spark target, which has no PostgreSQL): an exclusive
    lock on `<lake>/.pipeline.lock`, released by the system if the process dies. Reentrant
    within a process like `exclusive`; yields the seconds spent waiting."""
    if _held.get():
        yield 0.0
        return
    lake.mkdir(parents=True, exist_ok=True)
    with open(lake / ".pipeline.lock", "a") as handle:

        def try_lock() -> bool:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        with _held_while(try_lock, lambda: fcntl.flock(handle.fileno(), fcntl.LOCK_UN),
                         f"the lake {lake}", wait_s, poll_s) as waited:
            yield waited
