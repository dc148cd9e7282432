"""A password never appears, not even in part, in a message, a log, a traceback, a Prefect
run's logs or state, dbt's files or a process's command line: for passwords holding %, @, :,
/, quotes and spaces, written into ASP_DATABASE_URL encoded or not."""

from __future__ import annotations

import logging
import os
import secrets
import string
import subprocess
import time
import traceback
import urllib.parse
import uuid
from pathlib import Path

import pytest
from psycopg import sql
from support import CLI, PROJECT_DIR, cli_environment, free_port, run_cli

import asp_telemetry as asp
from asp_telemetry import connection, roles

SEPARATORS = {"percent": "%", "at": "@", "colon": ":", "slash": "/", "quote": "'", "double-quote": '"',
              "space": " ", "all": "%@:/'\" "}


def _token() -> str:
    # letters that are not hexadecimal digits: "%" + token is never a valid percent-encoding
    return "".join(secrets.choice("ghjkmnpqrstuvwxyzGHJKMNPQRSTUVWXYZ") for _ in range(8))


class Password(str):
    """A password of one shape and the fragments that must never be seen."""

    fragments: tuple[str, ...]

    def __new__(cls, separator: str):
        first, second = _token(), _token()
        value = super().__new__(cls, f"{first}{separator}{second}")
        value.fragments = (first, second)
        return value

    def seen_in(self, text: str) -> list[str]:
        return [fragment for fragment in (str(self), *self.fragments) if fragment in text]


def _raw_url(password: str, port: int, user: str = "someone", dbname: str = "nowhere") -> str:
    return f"postgresql://{user}:{password}@127.0.0.1:{port}/{dbname}"


def _encoded_url(password: str, host: str, port: int, user: str, dbname: str) -> str:
    return f"postgresql://{user}:{urllib.parse.quote(password, safe='')}@{host}:{port}/{dbname}"


def _everything_said(exc: BaseException) -> str:
    return str(exc) + "".join(traceback.format_exception(exc))


@pytest.mark.parametrize("shape", SEPARATORS)
def test_errors_about_a_url_never_quote_its_password(shape):
    password = Password(SEPARATORS[shape])
    for url in (_raw_url(password, free_port()), _encoded_url(password, "127.0.0.1", free_port(), "someone", "db"),
                f"host=127.0.0.1 port={free_port()} user=someone password='{password}",  # unterminated
                f"postgresql://127.0.0.1:{free_port()}/db?password={password}"):
        with pytest.raises((ValueError, connection.DatabaseUnavailable)) as failed:
            connection.from_url(url, name="ASP_DATABASE_URL")
        assert not password.seen_in(_everything_said(failed.value)), _everything_said(failed.value)


def test_the_cli_never_prints_a_password_of_any_shape():
    for shape, separator in SEPARATORS.items():
        password = Password(separator)
        for url in (_raw_url(password, free_port()), _encoded_url(password, "127.0.0.1", free_port(), "x", "db")):
            env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
            env.update(ASP_DATABASE_URL=url, ASP_PROJECT_DIR=str(PROJECT_DIR))
            result = run_cli("db", "status", env=env, check=False)
            said = result.stdout + result.stderr
            assert result.returncode == 1 and "Traceback" not in said, (shape, said)
            assert "ASP_DATABASE_URL" in said and not password.seen_in(said), (shape, said)


def test_a_bare_percent_says_how_to_write_it():
    with pytest.raises(ValueError, match="bare '%'.*percent-encode the password") as failed:
        connection.from_url("postgresql://someone:50%off@localhost/db", name="ASP_DATABASE_URL")
    assert "off" not in str(failed.value) and "50" not in str(failed.value)


@pytest.fixture
def login(db):
    """A writer and transformer login whose password holds every awkward character."""
    user = f"secretive_{uuid.uuid4().hex[:8]}"
    password = Password(SEPARATORS["all"])
    roles.grant_login(db, "asp_writer", user, password)
    roles.grant_login(db, "asp_transformer", user, password)
    yield user, password
    with connection.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(user)))


def _login_environment(db, tcp_address, user: str, password: str) -> dict[str, str]:
    env = cli_environment(db, COLUMNS="200")
    for name in connection.LIBPQ_VARIABLES:
        env.pop(name, None)
    env["ASP_DATABASE_URL"] = _encoded_url(password, *tcp_address, user, db.dbname)
    return env


def test_an_encoded_password_of_every_shape_logs_in_and_is_never_printed(db, tcp_address, login, tmp_path):
    user, password = login
    data = tmp_path / "tasks.jsonl"
    data.write_text('{"record": "task_metadata", "task_id": "T-SECRET"}\n')
    loaded = run_cli("load", str(data), env=_login_environment(db, tcp_address, user, password))
    assert "1 loaded" in loaded.stdout
    assert not password.seen_in(loaded.stdout + loaded.stderr)
    with connection.connect(db) as conn:
        assert conn.execute("select loaded_by from raw.loads where source = %s", [str(data)]).fetchone()[0] == user


def test_a_build_as_a_login_shows_its_password_in_no_command_line_log_or_file(db, tcp_address, login, tmp_path):
    user, password = login
    target = tmp_path / "target"
    env = _login_environment(db, tcp_address, user, password)
    command = [*CLI, "build", "--target-path", str(target), "--exclude-resource-type", "unit_test"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    command_lines = []
    while process.poll() is None:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                command_lines.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass  # the process ended
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    assert process.returncode == 0, stdout + stderr
    assert any("build" in line and "--target-path" in line for line in command_lines)
    for line in command_lines:
        assert not password.seen_in(line), line
    assert not password.seen_in(stdout + stderr)
    written = [*target.rglob("*"), PROJECT_DIR / "logs" / "dbt.log"]
    for path in written:
        if path.is_file():
            assert not password.seen_in(path.read_text(errors="replace")), path


@pytest.mark.parametrize("shape", ["percent", "at", "slash", "all"])
def test_the_sdk_logs_no_password_when_it_cannot_deliver(shape, tmp_path, caplog):
    password = Password(SEPARATORS[shape])
    urls = [_raw_url(password, free_port()), _encoded_url(password, "127.0.0.1", free_port(), "x", "db")]
    formatter = logging.Formatter("%(message)s")
    for url in urls:
        caplog.clear()
        asp.configure(sink="postgres", database_url=url, spool_dir=tmp_path / "spool", flush_interval_s=0.05)
        with caplog.at_level(logging.WARNING, logger="asp_telemetry.sdk"):
            with asp.agent_run(task_id="T-1", role="Code"):
                asp.record_usage(tokens_in=1, tokens_out=1)
            assert asp.flush(30)
        logged = "\n".join(formatter.format(record) for record in caplog.records)
        assert logged, "the SDK logged nothing about the failed delivery"
        assert not password.seen_in(logged), logged
    assert list((tmp_path / "spool").glob("*.jsonl"))  # nothing lost: spooled
    asp.configure(sink="jsonl", spool_dir=tmp_path / "spool")


def test_prefect_runs_record_no_password(prefect_server, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    from asp_telemetry.flows.transform import transform

    password = Password(SEPARATORS["all"])
    for name in connection.LIBPQ_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASP_DATABASE_URL", _raw_url(password, free_port()))
    state = transform(return_state=True)
    assert state.is_failed()
    APILogWorker.drain_all(timeout=30)
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        run = client.read_flow_run(flow_run_id)
    said = "\n".join([state.message or "", str(run.state.message), *(log.message for log in logs),
                      *(str(artifact.data) + str(artifact.description) for artifact in artifacts)])
    assert "ASP_DATABASE_URL" in said and any("ASP_DATABASE_URL" in log.message for log in logs)
    assert not password.seen_in(said), said


def test_helpers_see_what_they_look_for():
    password = Password("%")
    assert password.seen_in(f"xx {password.fragments[1]} yy") and not password.seen_in("nothing")
    assert all(c not in string.hexdigits for fragment in password.fragments for c in fragment)


def test_a_transform_run_as_a_login_records_no_password(prefect_server, db, tcp_address, login, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    from asp_telemetry.flows.transform import transform

    user, password = login
    for name in connection.LIBPQ_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASP_DATABASE_URL", _encoded_url(password, *tcp_address, user, db.dbname))
    state = transform(return_state=True)
    assert state.is_completed(), state.message
    APILogWorker.drain_all(timeout=30)
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    assert artifacts and logs
    said = "\n".join([*(log.message for log in logs),
                      *(str(artifact.data) + str(artifact.description) for artifact in artifacts)])
    assert "stg_asp__task_metadata" in said
    assert not password.seen_in(said), said
