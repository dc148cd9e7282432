"""Ingest tokens: what `Authorization: Bearer <token>` must carry (migration 0009).

A token is 32 random bytes (URL-safe base64, prefixed `aspt_`), shown once; the database keeps
its SHA-256 only. The collector keeps the valid hashes in memory and reads them again every
few seconds (and at once when an unknown token arrives, at most once a second), so a token
created or revoked takes effect within REFRESH_S.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg

from asp_telemetry.connection import ConnectionInfo, connect
from asp_telemetry.errors import InvalidInput

PREFIX = "aspt_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
REFRESH_S = 2.0
UNKNOWN_REFRESH_S = 1.0


@dataclass(frozen=True)
class TokenInfo:
    name: str
    created_at: datetime
    revoked_at: datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise InvalidInput(
            f"ingest token name {name!r}: use 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )


def create(info: ConnectionInfo, name: str) -> str:
    """A new token under `name` (which must be new); returns the token, stores its hash."""
    _check_name(name)
    token = PREFIX + secrets.token_urlsafe(32)
    with connect(info, autocommit=True) as conn:
        try:
            conn.execute("insert into raw.ingest_tokens (name, token_sha256) values (%s, %s)", [name, digest(token)])
        except psycopg.errors.UniqueViolation:
            raise InvalidInput(
                f"an ingest token named {name!r} exists already: revoke it or choose another name"
            ) from None
    return token


def list_tokens(info: ConnectionInfo) -> list[TokenInfo]:
    with connect(info, autocommit=True) as conn:
        rows = conn.execute("select name, created_at, revoked_at from raw.ingest_tokens order by name").fetchall()
    return [TokenInfo(*row) for row in rows]


def revoke(info: ConnectionInfo, name: str) -> None:
    _check_name(name)
    with connect(info, autocommit=True) as conn:
        row = conn.execute(
            "update raw.ingest_tokens set revoked_at = coalesce(revoked_at, now()) where name = %s returning name",
            [name],
        ).fetchone()
    if row is None:
        raise InvalidInput(f"no ingest token named {name!r}: `asp-telemetry ingest-token list` shows them")


class TokenCache:
    """The valid tokens' hashes, read from the database and refreshed in the background of
    requests (a lookup never waits for the database longer than one refresh)."""

    def __init__(self, info: ConnectionInfo):
        self.info = info
        self._names: dict[str, str] = {}
        self._read_at = 0.0
        self._lock = threading.Lock()
        self.error: str | None = None

    def _refresh(self) -> None:
        try:
            with connect(self.info, autocommit=True) as conn:
                rows = conn.execute(
                    "select token_sha256, name from raw.ingest_tokens where revoked_at is null"
                ).fetchall()
        except Exception as exc:  # noqa: BLE001 - keep the last known tokens, say why in /health
            self.error = f"{type(exc).__name__}: {exc}"
            self._read_at = time.monotonic()
            return
        self._names = dict(rows)
        self.error = None
        self._read_at = time.monotonic()

    def name_of(self, token: str) -> str | None:
        """The name of a valid token, or None (blocking: call it off the event loop)."""
        key = digest(token)
        with self._lock:
            age = time.monotonic() - self._read_at
            if age > REFRESH_S or (key not in self._names and age > UNKNOWN_REFRESH_S):
                self._refresh()
            return self._names.get(key)
