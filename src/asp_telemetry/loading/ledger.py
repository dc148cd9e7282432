"""The ledger of loads (raw.loads): one row per file or record stream, opened when its load
starts and closed with its outcome.

A live load holds a session-level advisory lock on its row (taken in the transaction that
inserts the row, so no other session ever sees the row unlocked while the load lives). The
lock goes with the session: a row still `running` whose lock nobody holds belongs to a load
whose process died or whose connection was lost, and the next load marks it `interrupted`
(raw.interrupt_abandoned_loads(), which checks the lock with the key below).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg

from asp_telemetry.connection import ConnectionInfo, connect
from asp_telemetry.loading.rejects import storable

if TYPE_CHECKING:
    from asp_telemetry.loading.summary import LoadSummary

# The first key of the two-key advisory locks on ledger rows ("asp_" in ASCII, within 31 bits;
# migration 0007's raw.interrupt_abandoned_loads() names the same number); the second is the
# load id modulo 2^31 - 1. The pipeline and migration locks use one-key locks.
LEDGER_LOCK_CLASS = 0x6173705F & 0x7FFFFFFF
_LOCK_ID = "(%s::bigint %% 2147483647)::int"


def open_load(conn: psycopg.Connection, source: str, content_sha256: str | None, size_bytes: int | None,
              table_name: str | None, strict: bool) -> int:
    with conn.transaction():
        load_id = conn.execute(
            "insert into raw.loads (source, content_sha256, size_bytes, table_name, strict)"
            " values (%s, %s, %s, %s, %s) returning load_id",
            [source, content_sha256, size_bytes, table_name, strict],
        ).fetchone()[0]
        conn.execute(f"select pg_advisory_lock(%s, {_LOCK_ID})", [LEDGER_LOCK_CLASS, load_id])
    return load_id


def close_load(conn: psycopg.Connection, load_id: int, *, status: str, format: str | None,
               content_sha256: str | None, size_bytes: int | None, read: int, loaded: int, updated: int,
               duplicates: int, rejected: int, error: str | None = None) -> None:
    conn.execute(
        "update raw.loads set status = %s, format = %s, content_sha256 = coalesce(content_sha256, %s),"
        " size_bytes = coalesce(size_bytes, %s), finished_at = clock_timestamp(),"
        " records_read = %s, loaded = %s, updated = %s, duplicates = %s, rejected = %s, error = %s"
        " where load_id = %s",
        [status, format, content_sha256, size_bytes, read, loaded, updated, duplicates, rejected, error, load_id],
    )
    conn.execute(f"select pg_advisory_unlock(%s, {_LOCK_ID})", [LEDGER_LOCK_CLASS, load_id])


def mark_abandoned(conn: psycopg.Connection) -> int:
    """Mark `interrupted` the running rows that no live load holds, whoever opened them;
    returns how many. A writer may close only its own loads (row-level security, migration
    0007): raw.interrupt_abandoned_loads() runs this one statement as the table's owner."""
    return conn.execute("select raw.interrupt_abandoned_loads()").fetchone()[0]


def finish(info: ConnectionInfo, conn: psycopg.Connection | None, summary: LoadSummary, format: str | None,
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
            close_load(conn, summary.load_id, **values)
            return
        except psycopg.OperationalError:
            pass
    try:
        with connect(info, autocommit=True) as fresh:
            close_load(fresh, summary.load_id, **values)
    except Exception:  # noqa: BLE001 - best effort: the next load marks the row interrupted
        pass
