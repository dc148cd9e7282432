"""Rejected records (raw.rejected_records): the input the loader refused, stored as the exact
bytes it was read from, with the reason and the position, once however often it is loaded."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from pydantic import BaseModel, ConfigDict

from asp_telemetry.loading import identity
from asp_telemetry.loading.formats import readable


class RejectedRecord(BaseModel):
    """Input the loader refused: the exact bytes it was read from."""

    model_config = ConfigDict(frozen=True)

    source: str
    position: str
    line_number: int | None = None
    record_type: str | None = None
    reason: str
    original_bytes: bytes

    @property
    def original_text(self) -> str:
        return readable(self.original_bytes)


def storable(text: str) -> str:
    """Text PostgreSQL can store whatever it holds: no NUL, no lone surrogate (a file name or
    a value that was not UTF-8), each shown as a backslash escape."""
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def reject_row(load_id: int | None, source_identity: str, reject: RejectedRecord) -> tuple:
    text = reject.original_text  # readable: no NUL, which PostgreSQL text cannot hold
    return (
        load_id,
        storable(reject.source),
        storable(reject.position),
        reject.line_number,
        storable(reject.record_type) if reject.record_type else None,
        storable(reject.reason),
        text,
        reject.original_bytes,
        identity.reject_key(source_identity, reject.position, text),
    )


# The columns of reject_row's tuple, in its order (raw.rejected_records; the lake's dataset).
REJECT_COLUMNS = (
    "load_id", "source", "position", "line_number", "record_type", "reason", "original_text", "original_bytes",
    "reject_key",
)
INSERT_REJECT = (
    f"insert into raw.rejected_records ({', '.join(REJECT_COLUMNS)})"
    " values (%s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict (reject_key) do nothing"
)


def store_rejects(
    conn: psycopg.Connection, load_id: int | None, source_identity: str, rejects: Sequence[RejectedRecord]
) -> None:
    if rejects:
        with conn.cursor() as cur:
            cur.executemany(INSERT_REJECT, [reject_row(load_id, source_identity, r) for r in rejects])
