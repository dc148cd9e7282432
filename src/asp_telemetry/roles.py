"""Logins for the access roles that migration 0002 creates."""

from __future__ import annotations

from psycopg import sql

from asp_telemetry.connection import ConnectionInfo, connect
from asp_telemetry.errors import InvalidInput

ACCESS_ROLES = ("asp_writer", "asp_transformer", "asp_reader")


def grant_login(info: ConnectionInfo, role: str, user: str, password: str) -> bool:
    """Create (or update) login `user` as a member of `role`. Returns True when it was created.

    The password is hashed with SCRAM-SHA-256 on this side (as psql's \\password does), so the
    server, its logs and any error message only ever see the verifier.
    """
    if role not in ACCESS_ROLES:
        raise InvalidInput(f"unknown role {role!r}: choose one of {', '.join(ACCESS_ROLES)}")
    if not password:
        raise InvalidInput("the password is empty")
    with connect(info, autocommit=True) as conn:
        verifier = conn.pgconn.encrypt_password(password.encode(), user.encode(), b"scram-sha-256").decode()
        exists = conn.execute("select 1 from pg_roles where rolname = %s", [user]).fetchone() is not None
        verb = sql.SQL("alter role" if exists else "create role")
        conn.execute(
            sql.SQL("{} {} login password {}").format(verb, sql.Identifier(user), sql.Literal(verifier))
        )
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(role), sql.Identifier(user)))
    return not exists
