"""Test fixtures: a real PostgreSQL, one fresh database per test.

The server is ASP_TEST_DATABASE_URL when set (CI also runs the suite against PostgreSQL 15
that way), otherwise an embedded server started for this session in a temporary ASP_HOME.
Every test gets its own database, copied from a migrated template, so tests cannot leak
into each other.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql
from support import free_port, point_environment_at

from asp_telemetry import connection, embedded, migrations
from asp_telemetry.connection import ConnectionInfo


@pytest.fixture(scope="session", autouse=True)
def dbt_paths_of_this_session() -> Iterator[None]:
    """dbt's target and log directories of this session (unless a test names its own), not the
    checkout's: another test run in the same checkout must not share dbt's files. Not under
    pytest's basetemp either: pytest sessions running beside this one prune each other's
    numbered directories there, and dbt's partial parse reads the target directory in every build."""
    saved = {name: os.environ.get(name) for name in ("DBT_TARGET_PATH", "DBT_LOG_PATH")}
    home = Path(tempfile.mkdtemp(prefix="asp-test-dbt-"))
    os.environ["DBT_TARGET_PATH"] = str(home / "target")
    os.environ["DBT_LOG_PATH"] = str(home / "logs")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def server_home() -> Iterator[Path]:
    """A directory for an embedded server of a test's own. Not under pytest's basetemp: every
    pytest session on the machine resets /tmp/pytest-of-<user> to mode 0700, which would lock
    the server's own user out of its data directory (see pg_server)."""
    home = Path(tempfile.mkdtemp(prefix="asp-test-server-"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ConnectionInfo]:
    """An admin connection to the test server's maintenance database."""
    url = os.environ.get("ASP_TEST_DATABASE_URL")
    if url:
        yield connection.from_url(url, source="test", name="ASP_TEST_DATABASE_URL")
        return
    # Not under pytest's basetemp: every pytest session on the machine (another engineer's,
    # a concurrent run) resets /tmp/pytest-of-<user> to mode 0700, which locks the server's
    # own user out of its data directory mid-session.
    home = Path(tempfile.mkdtemp(prefix="asp-test-home-"))
    previous = os.environ.get("ASP_HOME")
    os.environ["ASP_HOME"] = str(home)
    # TCP too (password logins), as `db start --listen` does: BI-style clients connect there
    server = embedded.start(embedded.Listen("127.0.0.1", free_port()))
    try:
        yield ConnectionInfo(
            host=server.host, port=server.port, user=embedded.SUPERUSER, dbname="postgres", source="test"
        )
    finally:
        embedded.stop()
        shutil.rmtree(home, ignore_errors=True)
        if previous is None:
            os.environ.pop("ASP_HOME", None)
        else:
            os.environ["ASP_HOME"] = previous


@pytest.fixture(scope="session")
def tcp_address(pg_server: ConnectionInfo) -> tuple[str, int]:
    """Where the test server accepts TCP connections (host, port), as a BI tool reaches it."""
    if os.environ.get("ASP_TEST_DATABASE_URL"):
        if pg_server.host.startswith("/"):
            pytest.skip("ASP_TEST_DATABASE_URL points at a Unix socket: no TCP address to test")
        return pg_server.host, pg_server.port
    server = embedded.running()
    assert server is not None and server.tcp is not None
    return server.tcp.host, server.tcp.port


def _create_database(admin: ConnectionInfo, prefix: str, template: str | None = None) -> ConnectionInfo:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    connection.ensure_database(admin, name, template=template)
    info = admin.with_database(name)
    if template:
        # CREATE DATABASE ... TEMPLATE does not copy who may connect: what `db upgrade` does
        with connection.connect(info, autocommit=True) as conn:
            migrations.restrict_database_access(conn)
    return info


def _drop_database(admin: ConnectionInfo, name: str) -> None:
    with connection.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def migrated_template(pg_server: ConnectionInfo) -> Iterator[ConnectionInfo]:
    template = _create_database(pg_server, "asp_template")
    migrations.upgrade(template)
    yield template
    _drop_database(pg_server, template.dbname)


@pytest.fixture
def db(pg_server: ConnectionInfo, migrated_template: ConnectionInfo) -> Iterator[ConnectionInfo]:
    """A database of its own for one test, with every migration applied."""
    info = _create_database(pg_server, "asp_test", template=migrated_template.dbname)
    yield info
    _drop_database(pg_server, info.dbname)


@pytest.fixture
def writer_login(db: ConnectionInfo) -> Iterator:
    """A factory of logins made with `grant-login asp_writer` on the test's database, each
    connecting with its own password (dropped at the end of the test)."""
    from pydantic import SecretStr

    from asp_telemetry import roles

    made: list[str] = []

    def make() -> ConnectionInfo:
        user = f"writer_{uuid.uuid4().hex[:8]}"
        password = f"pw {uuid.uuid4().hex[:8]} %@:/"
        roles.grant_login(db, "asp_writer", user, password)
        made.append(user)
        return db.model_copy(update={"user": user, "password": SecretStr(password)})

    yield make
    for user in made:
        roles.revoke_login(db, user)


@pytest.fixture
def empty_db(pg_server: ConnectionInfo) -> Iterator[ConnectionInfo]:
    """A database of its own for one test, with nothing applied."""
    info = _create_database(pg_server, "asp_empty")
    yield info
    _drop_database(pg_server, info.dbname)


@pytest.fixture(scope="session")
def make_database(pg_server: ConnectionInfo, migrated_template: ConnectionInfo) -> Iterator:
    """A factory of migrated databases that live until the end of the session, for
    module-scoped fixtures (a dbt build is too slow to repeat for every test)."""
    created: list[str] = []

    def make(prefix: str = "asp_test") -> ConnectionInfo:
        info = _create_database(pg_server, prefix, template=migrated_template.dbname)
        created.append(info.dbname)
        return info

    yield make
    for name in created:
        _drop_database(pg_server, name)


@pytest.fixture(scope="session")
def analytics_db(make_database, tmp_path_factory) -> ConnectionInfo:
    """Generated telemetry (400 tasks over 28 days ending this hour), loaded, built, with a
    bootstrap snapshot of the last 14 days: for tests that read the marts without changing them."""
    from asp_telemetry import build, generate, loading, snapshot

    info = make_database("asp_analytics")
    generated = generate.generate(400, seed=7, out=tmp_path_factory.mktemp("analytics-data"), workers=1)
    summaries = loading.load_paths(info, generated.files)
    assert all(s.status == "complete" and s.rejected == 0 for s in summaries), summaries
    target = str(tmp_path_factory.mktemp("analytics-dbt-target"))
    first = build.run_build(info, ["--target-path", target, "--exclude-resource-type", "unit_test"])
    assert first.success, first.summary_line()
    snapshot.take(info, period_built=True)  # the build computed the default period's snapshot
    bootstrap = build.run_build(info, ["--target-path", target, "--select", "mart_bootstrap_status"])
    assert bootstrap.success, bootstrap.summary_line()
    return info


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One temporary Prefect server for the whole session (starting one takes about 15 s)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=600):
        yield PREFECT_API_URL.value()


@pytest.fixture
def use_database(monkeypatch):
    """Point everything that resolves the configured database (flows, SDK sinks) at `info`."""

    def use(info: ConnectionInfo) -> ConnectionInfo:
        point_environment_at(monkeypatch, info)
        return info

    return use


@pytest.fixture(scope="session")
def spark_session() -> Iterator:
    """The one in-process SparkSession of the test session (tests marked `spark`), started as
    the spark target starts it (asp_telemetry.lake.session, profiles.yml), with its warehouse
    and metastore in a directory of its own; dbt's session method then finds it and uses it."""
    pytest.importorskip("pyspark")
    from asp_telemetry.lake import session as lake_session

    home = Path(tempfile.mkdtemp(prefix="asp-test-spark-"))
    previous = os.environ.get("ASP_SPARK_DIR")
    os.environ["ASP_SPARK_DIR"] = str(home)
    spark = lake_session.get_session(home)
    try:
        yield spark
    finally:
        spark.stop()
        shutil.rmtree(home, ignore_errors=True)
        if previous is None:
            os.environ.pop("ASP_SPARK_DIR", None)
        else:
            os.environ["ASP_SPARK_DIR"] = previous
