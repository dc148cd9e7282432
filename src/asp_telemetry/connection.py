"""Which PostgreSQL server to use, and connections to it.

Order: ASP_DATABASE_URL; else the libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE); else the embedded server under $ASP_HOME/pg. Passwords are held as SecretStr
and never appear in a repr, a log line or an error.
"""

from __future__ import annotations

import os
import shlex
from typing import Literal

import psycopg
from psycopg import conninfo, sql
from pydantic import BaseModel, ConfigDict, SecretStr

from asp_telemetry import embedded
from asp_telemetry.errors import DatabaseUnavailable, InvalidInput, NotBuilt

__all__ = ["DatabaseUnavailable"]  # raised here; defined with the other user errors

LIBPQ_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


class ConnectionInfo(BaseModel):
    """One database on one server, complete enough for psycopg and for dbt's profile."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int = 5432
    user: str
    password: SecretStr | None = None
    dbname: str
    source: Literal["url", "libpq", "embedded", "test"] = "libpq"
    options: dict[str, str] = {}

    def conninfo(self) -> str:
        params: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.dbname,
            "application_name": "asp-telemetry",
            **self.options,
        }
        if self.password is not None:
            params["password"] = self.password.get_secret_value()
        return conninfo.make_conninfo(**params)

    def describe(self) -> str:
        """Where this points, for humans: no password."""
        where = f"socket {self.host}" if self.host.startswith("/") else f"{self.host}:{self.port}"
        return f"{self.user}@{where}/{self.dbname} ({self.source})"

    def libpq_environment(self) -> dict[str, str]:
        """PG* variables that make libpq clients (psql, dbt's profiles.yml) reach this database."""
        env = {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGDATABASE": self.dbname,
        }
        if self.password is not None:
            env["PGPASSWORD"] = self.password.get_secret_value()
        if "sslmode" in self.options:
            env["PGSSLMODE"] = self.options["sslmode"]
        return env

    def with_database(self, dbname: str) -> ConnectionInfo:
        return self.model_copy(update={"dbname": dbname})


def from_url(url: str, source: Literal["url", "test"] = "url") -> ConnectionInfo:
    """Parse a postgresql:// URL or a key=value conninfo string; libpq defaults fill gaps."""
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise InvalidInput(f"cannot parse the database URL ({_scrub(str(exc), url)})") from None
    return _complete(params, source)


def _complete(params: dict, source: Literal["url", "libpq", "test"]) -> ConnectionInfo:
    """Ask the server what libpq actually connected to, so dbt gets the same values."""
    params = dict(params)
    password = params.pop("password", None) or os.environ.get("PGPASSWORD")
    try:
        with psycopg.connect(
            conninfo.make_conninfo(**params, **({"password": password} if password else {})),
            connect_timeout=10,
        ) as conn:
            host = conn.info.host
            port = conn.info.port
            user = conn.info.user
            dbname = conn.info.dbname
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(_describe_params(params), _scrub(str(exc), password)) from None
    options = {
        key: str(value)
        for key, value in params.items()
        if key not in {"host", "hostaddr", "port", "user", "dbname"}
    }
    return ConnectionInfo(
        host=host,
        port=int(port),
        user=user,
        password=SecretStr(password) if password else None,
        dbname=dbname,
        source=source,
        options=options,
    )


def _describe_params(params: dict) -> str:
    host = params.get("host") or os.environ.get("PGHOST") or "the default socket"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    dbname = params.get("dbname") or os.environ.get("PGDATABASE") or "(default database)"
    return f"{host}:{port}/{dbname}"


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def configured_source() -> Literal["url", "libpq", "embedded"]:
    if os.environ.get("ASP_DATABASE_URL"):
        return "url"
    if any(os.environ.get(name) for name in LIBPQ_VARIABLES):
        return "libpq"
    return "embedded"


def resolve(start_embedded: bool = True) -> ConnectionInfo:
    """The database every command uses (starting the embedded server when that is the one)."""
    source = configured_source()
    if source == "url":
        return from_url(os.environ["ASP_DATABASE_URL"])
    if source == "libpq":
        return _complete({}, "libpq")
    if not start_embedded:
        server = embedded.running()
        if server is None:
            raise DatabaseUnavailable(str(embedded.data_dir()), "the embedded server is not running")
    else:
        server = embedded.start()
    admin = ConnectionInfo(
        host=server.host, port=server.port, user=embedded.SUPERUSER, dbname="postgres", source="embedded"
    )
    ensure_database(admin, embedded.DATABASE_NAME)
    return admin.with_database(embedded.DATABASE_NAME)


def ensure_database(admin: ConnectionInfo, dbname: str, template: str | None = None) -> None:
    """Create a database if it does not exist (connected to another database of the server)."""
    with connect(admin, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [dbname]).fetchone()
        if exists:
            return
        statement = sql.SQL("create database {}").format(sql.Identifier(dbname))
        if template:
            statement += sql.SQL(" template {}").format(sql.Identifier(template))
        try:
            conn.execute(statement)
        except psycopg.errors.DuplicateDatabase:
            pass  # created by a concurrent command


def connect(info: ConnectionInfo, autocommit: bool = False, **kwargs) -> psycopg.Connection:
    try:
        return psycopg.connect(info.conninfo(), autocommit=autocommit, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        secret = info.password.get_secret_value() if info.password else None
        raise DatabaseUnavailable(info.describe(), _scrub(str(exc), secret)) from None


def shell_exports(info: ConnectionInfo) -> str:
    """`export PG...=...` lines for `eval "$(asp-telemetry env)"`."""
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in info.libpq_environment().items())


def relation_exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s)", [relation]).fetchone()[0] is not None


def require_built(conn: psycopg.Connection, relation: str) -> None:
    """Fail with what to do when a dbt relation (e.g. marts.fct_task_costs) does not exist yet."""
    if not relation_exists(conn, relation):
        raise NotBuilt("the marts are not built yet: run `asp-telemetry build` first")
