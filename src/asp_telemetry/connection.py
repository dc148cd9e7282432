"""Which PostgreSQL server to use, and connections to it.

Order: ASP_DATABASE_URL; else the libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE); else the embedded server under $ASP_HOME/pg. Passwords are held as SecretStr
and never appear in a repr, a log line or an error.
"""

from __future__ import annotations

import os
import re
import shlex
import urllib.parse
from typing import Literal

import psycopg
from psycopg import conninfo, sql
from pydantic import BaseModel, ConfigDict, Field, SecretStr

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
    # other libpq parameters (sslmode, ...): kept out of the repr, sslpassword may be among them
    options: dict[str, str] = Field(default={}, repr=False)

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


def from_url(url: str, source: Literal["url", "test"] = "url", name: str = "the database URL") -> ConnectionInfo:
    """Parse a postgresql:// URL or a key=value conninfo string; libpq defaults fill gaps.

    `name` says where the URL came from in error messages (ASP_DATABASE_URL, ...). No error
    ever quotes the URL or a part of it: a malformed URL may put its password anywhere.
    """
    problem = _url_problem(url)
    params = None
    if problem is None:
        try:
            params = conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            problem = _parse_problem(str(exc))
    if problem is not None or params is None:
        # raised here, outside the except block: the exception carries no context that
        # could quote the URL
        raise InvalidInput(f"cannot parse {name}: {problem}")
    port = params.get("port")
    if port is not None and not str(port).isdigit():
        raise InvalidInput(f"cannot parse {name}: its port is not a number")
    return _complete(params, source, extra_secrets=_raw_passwords(url))


URL_ENCODING_HINT = "percent-encode the password (% as %25, @ as %40, / as %2F, space as %20)"


def _url_problem(url: str) -> str | None:
    """What makes a postgresql:// URL ambiguous for libpq, which would then read part of the
    password as a host, a port or a database name; None when nothing does."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme not in {"postgresql", "postgres"}:
        return None  # a key=value connection string
    if rest.count("@") > 1:
        return f"it has more than one '@': {URL_ENCODING_HINT}"
    userinfo = rest.partition("@")[0] if "@" in rest else ""
    if any(character in userinfo for character in "/?#"):
        return f"the user name or password holds a '/', '?' or '#': {URL_ENCODING_HINT}"
    if re.search(r"%(?![0-9A-Fa-f]{2})", userinfo):
        return f"the user name or password holds a bare '%': {URL_ENCODING_HINT}"
    if re.search(r"\s", userinfo):
        return f"the user name or password holds a space: {URL_ENCODING_HINT}"
    return None


def _parse_problem(libpq_message: str) -> str:
    """libpq's reason in our words: its own message may quote the password."""
    if "percent" in libpq_message:
        return f"it holds an invalid percent-encoding: {URL_ENCODING_HINT}"
    if "spaces" in libpq_message:
        return f"it holds a space: {URL_ENCODING_HINT}"
    if "quoted string" in libpq_message:
        return "a quoted value of the key=value string is not terminated"
    return "it is neither a postgresql:// URL nor a key=value connection string"


def _raw_passwords(url: str) -> list[str]:
    """The password as written in a URL (percent-encoded), to be scrubbed too."""
    scheme, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return []
    userinfo = rest.rpartition("@")[0]
    password = userinfo.partition(":")[2]
    return [password] if password else []


def _complete(
    params: dict, source: Literal["url", "libpq", "test"], extra_secrets: list[str] = ()
) -> ConnectionInfo:
    """Ask the server what libpq actually connected to, so dbt gets the same values."""
    params = dict(params)
    password = params.pop("password", None) or os.environ.get("PGPASSWORD")
    secrets = [password, *extra_secrets, params.get("sslpassword")]
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
        error = DatabaseUnavailable(_describe_params(params), scrub(str(exc), *secrets))
    else:
        error = None
    if error is not None:
        raise error
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


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with every secret (and its percent-encoded form) replaced by ***."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote(secret)}:
            text = text.replace(form, "***")
    return text


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
        return from_url(os.environ["ASP_DATABASE_URL"], name="ASP_DATABASE_URL")
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
        error = DatabaseUnavailable(info.describe(), scrub(str(exc), secret, info.options.get("sslpassword")))
    raise error


def shell_exports(info: ConnectionInfo) -> str:
    """`export PG...=...` lines for `eval "$(asp-telemetry env)"`."""
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in info.libpq_environment().items())


def relation_exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s)", [relation]).fetchone()[0] is not None


def require_built(conn: psycopg.Connection, relation: str) -> None:
    """Fail with what to do when a dbt relation (e.g. marts.fct_task_costs) does not exist yet."""
    if not relation_exists(conn, relation):
        raise NotBuilt("the marts are not built yet: run `asp-telemetry build` first")
