"""The ledger of loads (raw.loads): one row per file or record stream, opened when its load
starts (so an interrupted load stays visible as `running`) and closed with its outcome."""

from __future__ import annotations

import psycopg


def open_load(conn: psycopg.Connection, source: str, content_sha256: str | None, size_bytes: int | None,
              table_name: str | None, strict: bool) -> int:
    return conn.execute(
        "insert into raw.loads (source, content_sha256, size_bytes, table_name, strict)"
        " values (%s, %s, %s, %s, %s) returning load_id",
        [source, content_sha256, size_bytes, table_name, strict],
    ).fetchone()[0]


def close_load(conn: psycopg.Connection, load_id: int, *, status: str, format: str | None,
               content_sha256: str | None, size_bytes: int | None, loaded: int, updated: int,
               duplicates: int, rejected: int) -> None:
    conn.execute(
        "update raw.loads set status = %s, format = %s, content_sha256 = coalesce(content_sha256, %s),"
        " size_bytes = coalesce(size_bytes, %s), finished_at = clock_timestamp(),"
        " records_read = %s, loaded = %s, updated = %s, duplicates = %s, rejected = %s"
        " where load_id = %s",
        [status, format, content_sha256, size_bytes, loaded + updated + duplicates + rejected,
         loaded, updated, duplicates, rejected, load_id],
    )


def loads_of(conn: psycopg.Connection, content_sha256: str) -> list[tuple]:
    """Earlier loads of the same bytes, under any name: (load_id, source, status, finished_at)."""
    return conn.execute(
        "select load_id, source, status, finished_at from raw.loads where content_sha256 = %s order by load_id",
        [content_sha256],
    ).fetchall()
