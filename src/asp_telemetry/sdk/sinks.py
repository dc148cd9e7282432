"""Where batches of native records go: JSON Lines files in the spool (inbox), or PostgreSQL."""

from __future__ import annotations

import itertools
import json
import os
import socket
import time
from pathlib import Path
from typing import Protocol

_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode
_SEQUENCE = itertools.count()


class Sink(Protocol):
    def write(self, records: list[dict]) -> None: ...


class SpoolSink:
    """One native JSON Lines file per batch, written as `*.tmp` and renamed when complete, so
    the ingest flow never takes half a file."""

    def __init__(self, directory: Path):
        self.directory = directory

    def write(self, records: list[dict]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"sdk-{socket.gethostname()}-{os.getpid()}-{time.time_ns()}-{next(_SEQUENCE)}.jsonl"
        final = self.directory / name
        temporary = final.with_name(name + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write("".join(_ENCODE(record) + "\n" for record in records))
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(final)
        return final


class DatabaseUnreachable(Exception):
    """The postgres sink could not deliver; the batch belongs in the spool."""


class PostgresSink:
    """COPY through the loader (validation, identities, rejects), as `asp-telemetry load` does."""

    def __init__(self, database_url: str | None):
        self.database_url = database_url
        self._info = None

    def write(self, records: list[dict]) -> None:
        import psycopg

        from asp_telemetry import connection, loading

        try:
            if self._info is None:
                self._info = (
                    connection.from_url(self.database_url) if self.database_url else connection.resolve()
                )
            loading.load_records(self._info, records, source="sdk")
        except (connection.DatabaseUnavailable, psycopg.OperationalError) as exc:
            self._info = None
            raise DatabaseUnreachable(str(exc)) from exc
