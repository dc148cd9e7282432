"""The ledger of loads (raw.loads): one row per file or record stream, opened when its load
starts and closed with its outcome.

A live load holds a session-level advisory lock on its row (taken in the transaction that
inserts the row, so no other session ever sees the row unlocked while the load lives). The
lock goes with the session: a row still `running` whose lock nobody holds belongs to a load
whose process died or whose connection was lost, and the next load marks it `interrupted`
(raw.interrupt_abandoned_loads(), which checks the lock with the key below).
"""

from __future__ import annotations

import psycopg

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


def loads_of(conn: psycopg.Connection, content_sha256: str) -> list[tuple]:
    """Earlier loads of the same bytes, under any name: (load_id, source, status, finished_at)."""
    return conn.execute(
        "select load_id, source, status, finished_at from raw.loads where content_sha256 = %s order by load_id",
        [content_sha256],
    ).fetchall()
