"""The database commands as a user runs them: subprocesses, real servers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from psycopg import sql
from support import PROJECT_DIR, cli_environment, run_cli

from asp_telemetry import connection


def test_env_prints_exports_that_reach_the_same_database(db):
    result = run_cli("env", env=cli_environment(db))
    lines = result.stdout.strip().splitlines()
    assert all(line.startswith("export PG") for line in lines)
    check = subprocess.run(
        [
            "bash",
            "-c",
            f'{result.stdout}\n "{sys.executable}" -c "import psycopg; print(psycopg.connect(\'\').info.dbname)"',
        ],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == db.dbname


def test_status_lists_applied_migrations(db):
    out = run_cli("db", "status", env=cli_environment(db)).stdout
    assert "0001" in out and "raw_schema" in out and "applied" in out


def test_upgrade_is_a_no_op_the_second_time(empty_db):
    env = cli_environment(empty_db)
    first = run_cli("db", "upgrade", env=env).stdout
    assert "applied 0001_raw_schema.sql" in first
    assert "schema is up to date" in run_cli("db", "upgrade", env=env).stdout


def test_grant_login_never_prints_the_password(db):
    user = f"bi_{uuid.uuid4().hex[:8]}"
    secret = "correct-horse-battery-staple"
    try:
        result = run_cli("db", "grant-login", "asp_reader", user, env=cli_environment(db, ASP_LOGIN_PASSWORD=secret))
        assert f"created login {user} with role asp_reader" in result.stdout
        assert secret not in result.stdout + result.stderr
    finally:
        with connection.connect(db, autocommit=True) as conn:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(user)))


def test_connection_errors_name_the_server_but_not_the_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(
        ASP_DATABASE_URL="postgresql://someone:hunter2-secret@127.0.0.1:1/nowhere", ASP_PROJECT_DIR=str(PROJECT_DIR)
    )
    result = run_cli("db", "status", env=env, check=False)
    assert result.returncode == 1
    assert "cannot connect to PostgreSQL at 127.0.0.1:1/nowhere" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_embedded_server_starts_once_survives_between_commands_and_stops(server_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "ASP_DATABASE_URL"}
    env.update(ASP_HOME=str(server_home / "home"), ASP_PROJECT_DIR=str(PROJECT_DIR))
    try:
        run_cli("db", "upgrade", env=env)
        pid_file = server_home / "home" / "pg" / "postmaster.pid"
        first_pid = pid_file.read_text().split()[0]
        exports = run_cli("env", env=env).stdout
        assert f"export PGHOST={server_home / 'home' / 'pg'}" in exports or "export PGHOST=" in exports
        assert "export PGDATABASE=asp_telemetry" in exports
        assert "schema is up to date" in run_cli("db", "upgrade", env=env).stdout
        assert pid_file.read_text().split()[0] == first_pid  # the same server, reused
    finally:
        stopped = run_cli("db", "stop", env=env).stdout
    assert "stopped the embedded PostgreSQL" in stopped
    assert not (server_home / "home" / "pg" / "postmaster.pid").exists()
    assert "not running" in run_cli("db", "stop", env=env).stdout


def test_demo_runs_the_whole_pipeline_and_a_second_demo_reuses_the_database(db, prefect_server, tmp_path):
    env = cli_environment(db, COLUMNS="200", ASP_HOME=str(tmp_path / "home"), PREFECT_API_URL=prefect_server)
    first = run_cli("demo", "--tasks", "150", env=env).stdout
    assert "generated 150 synthetic tasks" in first
    second = run_cli("demo", "--tasks", "150", env=env).stdout
    assert "synthetic demo data already loaded: reusing it" in second
    for output in (first, second):
        for heading in ("Cost by agent role", "Review effectiveness", "Phase yields (process yield",
                        "Cost of quality: ", "A/FR: ", "DRL vs Test: DesignReview ",
                        "Bootstrap status", "PROBE-AI estimate for complexity", "Report: "):
            assert heading in output, heading
        headline = [line for line in output.splitlines() if line.startswith(("Cost of quality", "A/FR", "DRL"))]
        assert len(headline) == 3 and all(len(line) <= 80 for line in headline), headline
    assert "ingest: 1 file(s)" in second or "ingest: 0 file(s)" in second
    assert (tmp_path / "home" / "report" / "index.html").is_file()


def test_grant_login_refusals_are_clear_errors_that_change_nothing(db):
    env = cli_environment(db, ASP_LOGIN_PASSWORD="attacker-pw")
    for role, user, reason in (("asp_reader", "postgres", "is a superuser"),
                               ("asp_reader", "asp_writer", "is one of the access roles"),
                               ("asp_writer", "asp_writer", "is one of the access roles"),
                               ("asp_reader", "pg_monitor", "reserved for PostgreSQL's own roles")):
        result = run_cli("db", "grant-login", role, user, env=env, check=False)
        assert result.returncode == 1, result.stdout
        assert reason in " ".join(result.stderr.split()) and "Traceback" not in result.stderr
    with connection.connect(db) as conn:
        assert conn.execute("select rolcanlogin from pg_roles where rolname = 'asp_writer'").fetchone() == (False,)


def test_logins_and_revoke_login(db):
    user = f"bi_{uuid.uuid4().hex[:8]}"
    env = cli_environment(db, ASP_LOGIN_PASSWORD="pw-1", COLUMNS="200")
    try:
        run_cli("db", "grant-login", "asp_reader", user, env=env)
        run_cli("db", "grant-login", "asp_writer", user, env=env)
        listed = run_cli("db", "logins", env=env).stdout
        line = next(line for line in listed.splitlines() if user in line)
        assert "asp_reader, asp_writer" in line and "yes" in line
        assert f"removed login {user}" in run_cli("db", "revoke-login", user, env=env).stdout
        assert user not in run_cli("db", "logins", env=env).stdout
        again = run_cli("db", "revoke-login", user, env=env, check=False)
        assert again.returncode == 1 and "there is no login" in again.stderr
    finally:
        with connection.connect(db, autocommit=True) as conn:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(user)))
