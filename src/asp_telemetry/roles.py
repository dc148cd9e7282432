"""Logins for the access roles that migration 0002 creates (asp_writer, asp_transformer,
asp_reader): `db grant-login`, `db revoke-login`, `db logins`.

A login is marked as made by asp-telemetry with a comment on the role (roles belong to the
whole cluster, as comments on them do), and these functions change only the logins they
made: never a superuser, one of the three group roles, a `pg_*` role or any other role.
Each change is one transaction: when it fails, nothing changed.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql
from pydantic import BaseModel

from asp_telemetry.connection import ConnectionInfo, connect
from asp_telemetry.errors import LoginError

ACCESS_ROLES = ("asp_writer", "asp_transformer", "asp_reader")
LOGIN_MARKER = "asp-telemetry login: made by asp-telemetry db grant-login"
# PostgreSQL cuts identifiers at 63 bytes (with a notice only): longer names are refused here.
LOGIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.@-]{0,62}$")


class Login(BaseModel):
    name: str
    roles: list[str]
    can_login: bool
    superuser: bool
    managed: bool  # made by asp-telemetry db grant-login


def _check_name(user: str) -> None:
    if not LOGIN_NAME.match(user):
        raise LoginError(
            f"{user!r} is not a login name asp-telemetry makes: use 1 to 63 letters, digits, '_', '.', '@' "
            "or '-', starting with a letter or '_'"
        )
    if user.lower().startswith("pg_"):
        raise LoginError(f"{user!r}: names starting with pg_ are reserved for PostgreSQL's own roles")
    if user in ACCESS_ROLES:
        raise LoginError(f"{user!r} is one of the access roles, not a login: make a login that is a member of it")


def _existing(conn: psycopg.Connection, user: str) -> tuple[bool, bool, bool] | None:
    """(superuser, made by asp-telemetry, holds another power) of an existing role, or None."""
    row = conn.execute(
        "select rolsuper, shobj_description(oid, 'pg_authid') is not distinct from %s,"
        " rolcreaterole or rolcreatedb or rolreplication or rolbypassrls"
        " from pg_roles where rolname = %s",
        [LOGIN_MARKER, user],
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def _check_managed(user: str, existing: tuple[bool, bool, bool]) -> None:
    superuser, managed, powerful = existing
    if superuser:
        raise LoginError(f"{user!r} is a superuser: asp-telemetry never changes superusers")
    if not managed:
        raise LoginError(
            f"the role {user!r} exists and was not made by asp-telemetry db grant-login: asp-telemetry changes "
            "only the logins it made. Choose another name."
        )
    if powerful:
        raise LoginError(
            f"{user!r} was given CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS since grant-login made it: "
            "asp-telemetry leaves it alone"
        )


def grant_login(info: ConnectionInfo, role: str, user: str, password: str) -> bool:
    """Make `user` a login that is a member of `role` (creating it, or adding the role and
    setting the password of a login made earlier). Returns True when it was created.

    The password is hashed with SCRAM-SHA-256 on this side (as psql's \\password does), so the
    server, its logs and any error message only ever see the verifier.
    """
    if role not in ACCESS_ROLES:
        raise LoginError(f"unknown role {role!r}: choose one of {', '.join(ACCESS_ROLES)}")
    _check_name(user)
    if not password:
        raise LoginError("the password is empty")
    with connect(info) as conn, conn.transaction():
        if conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone() is None:
            raise LoginError(f"the role {role} does not exist on this server yet: run `asp-telemetry db upgrade` first")
        existing = _existing(conn, user)
        if existing is not None:
            _check_managed(user, existing)
        verifier = sql.Literal(
            conn.pgconn.encrypt_password(password.encode(), user.encode(), b"scram-sha-256").decode()
        )
        if existing:
            # checked above: not a superuser, no other power (and only a superuser may even
            # name those attributes in ALTER ROLE)
            statement = sql.SQL("alter role {} login password {}").format(sql.Identifier(user), verifier)
        else:
            statement = sql.SQL(
                "create role {} login password {} nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit"
            ).format(sql.Identifier(user), verifier)
        try:
            conn.execute(statement)
        except psycopg.errors.DuplicateObject:
            raise LoginError(f"the role {user!r} was just created by someone else: nothing changed") from None
        conn.execute(sql.SQL("comment on role {} is {}").format(sql.Identifier(user), sql.Literal(LOGIN_MARKER)))
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(role), sql.Identifier(user)))
    return existing is None


def revoke_login(info: ConnectionInfo, user: str) -> None:
    """Remove a login made by grant_login, and end its open sessions."""
    _check_name(user)
    with connect(info) as conn:
        with conn.transaction():
            existing = _existing(conn, user)
            if existing is None:
                raise LoginError(f"there is no login {user!r}")
            _check_managed(user, existing)
            try:
                conn.execute(sql.SQL("drop role {}").format(sql.Identifier(user)))
            except psycopg.errors.DependentObjectsStillExist as exc:
                detail = (exc.diag.message_detail or "").replace("\n", "; ")
                raise LoginError(
                    f"{user!r} still owns objects or holds privileges ({detail}): reassign or drop them "
                    "(REASSIGN OWNED BY / DROP OWNED BY in each database), then revoke the login again"
                ) from None
        # Its sessions would keep the privileges they had; a server that refuses this (no
        # pg_signal_backend) still refuses every new connection of the login.
        try:
            conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where usename = %s", [user])
        except psycopg.errors.InsufficientPrivilege:
            conn.rollback()


def logins(info: ConnectionInfo) -> list[Login]:
    """Every member of an access role and every login grant_login made, with their roles."""
    with connect(info) as conn:
        rows = conn.execute(
            """
            select r.rolname, r.rolcanlogin, r.rolsuper,
                   shobj_description(r.oid, 'pg_authid') is not distinct from %(marker)s as managed,
                   array(select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid
                         where m.member = r.oid and g.rolname = any(%(roles)s) order by g.rolname) as roles
            from pg_roles r
            where r.rolname <> all(%(roles)s)
              and (shobj_description(r.oid, 'pg_authid') is not distinct from %(marker)s
                   or exists (select from pg_auth_members m join pg_roles g on g.oid = m.roleid
                              where m.member = r.oid and g.rolname = any(%(roles)s)))
            order by r.rolname
            """,
            {"marker": LOGIN_MARKER, "roles": list(ACCESS_ROLES)},
        ).fetchall()
    return [Login(name=name, can_login=can_login, superuser=superuser, managed=managed, roles=list(member_of))
            for name, can_login, superuser, managed, member_of in rows]
