"""No input can hang a load or block the inbox: a lost connection, a time limit, a poison file.
The database drops the connection itself here (a trigger that ends its own session when a
given record arrives), so every failure happens at a known record, never at a lucky moment."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from load_support import count, query, task
from support import CLI, cli_environment, run_cli

from asp_telemetry import connection, inbox, loading
from asp_telemetry.loading import ledger

POISON = "POISON"


def _drop_connection_at_poison(db) -> None:
    """The session that inserts or merges task POISON ends, as if the server had restarted."""
    with connection.connect(db, autocommit=True) as conn:
        conn.execute("""
            create function public.end_my_session() returns trigger language plpgsql as $$
            begin
                perform pg_terminate_backend(pg_backend_pid());
                return new;
            end $$""")
        conn.execute("create trigger end_session_at_poison before insert or update on raw.task_metadata"
                     " for each row when (new.task_id = 'POISON') execute function public.end_my_session()")


def _heal(db) -> None:
    with connection.connect(db, autocommit=True) as conn:
        conn.execute("drop trigger end_session_at_poison on raw.task_metadata")


def _tasks(path: Path, ids: list[str]) -> Path:
    path.write_text("".join(json.dumps(task(task_id)) + "\n" for task_id in ids))
    return path


def test_a_lost_connection_marks_the_load_interrupted_and_says_what_to_do(db, tmp_path):
    _drop_connection_at_poison(db)
    ids = [f"T-{n:03d}" for n in range(250)]
    ids[150] = POISON  # in the second batch of 100
    path = _tasks(tmp_path / "tasks.jsonl", ids)

    result = run_cli("load", "--batch-rows", "100", str(path), env=cli_environment(db), check=False)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join(result.stderr.split())
    summary_line = f"{path}: 100 read: 100 loaded, 0 duplicates skipped, 0 rejected"
    assert f"{summary_line}; the connection to the database was lost" in message
    assert "load it again once the database is back" in message and "nothing is loaded twice" in message
    assert count(db, "task_metadata") == 100  # the first batch, committed
    [(status, read, error)] = query(db, "select status, records_read, error from raw.loads")
    assert (status, read) == ("interrupted", 100) and error.startswith("the connection to the database was lost")

    _heal(db)
    [again] = loading.load_paths(db, [path], batch_rows=100)
    assert (again.status, again.read, again.loaded, again.duplicates) == ("complete", 250, 150, 100)
    assert count(db, "task_metadata") == 250


def test_after_a_lost_connection_the_next_file_loads_on_a_new_one(db, tmp_path):
    _drop_connection_at_poison(db)
    directory = tmp_path / "exports"
    directory.mkdir()
    _tasks(directory / "1-poison.jsonl", ["T-1", POISON])
    _tasks(directory / "2-good.jsonl", ["T-2", "T-3"])

    first, second = loading.load_paths(db, [directory])

    assert (first.status, first.retryable) == ("interrupted", True)
    assert (second.status, second.read, second.loaded) == ("complete", 2, 2)
    assert query(db, "select task_id from raw.task_metadata order by 1") == [("T-2",), ("T-3",)]
    assert query(db, "select status from raw.loads order by load_id") == [("interrupted",), ("complete",)]


def test_an_sdk_batch_whose_connection_is_lost_raises_for_the_spool(db):
    _drop_connection_at_poison(db)
    with pytest.raises(psycopg.OperationalError):
        loading.load_records(db, [task("T-1"), task(POISON)], source="sdk")
    assert query(db, "select status, error is not null from raw.loads") == [("interrupted", True)]


def test_a_file_stops_at_its_time_limit(db, tmp_path):
    path = _tasks(tmp_path / "tasks.jsonl", ["T-1", "T-2"])
    with connection.connect(db) as blocker:
        blocker.execute("lock table raw.task_metadata in access exclusive mode")  # the load can never finish
        [summary] = loading.load_paths(db, [path], limits=loading.Limits(time_limit_s=2))
    assert summary.status == "interrupted" and not summary.retryable
    assert summary.error.startswith("stopped at its time limit of 2 s")
    assert query(db, "select status from raw.loads") == [("interrupted",)]
    assert count(db, "task_metadata") == 0


def test_a_running_ledger_row_of_a_dead_load_is_marked_interrupted(db, tmp_path):
    with connection.connect(db, autocommit=True) as conn:  # a load whose process died: no lock on its row
        conn.execute("insert into raw.loads (source) values ('killed.jsonl')")
    loading.load_paths(db, [_tasks(tmp_path / "next.jsonl", ["T-1"])])
    assert query(db, "select source, status from raw.loads order by load_id") == [
        ("killed.jsonl", "interrupted"), (str(tmp_path / "next.jsonl"), "complete"),
    ]


def test_as_a_writer_login_a_lost_connection_marks_its_own_load_interrupted(db, writer_login, tmp_path):
    writer = writer_login()
    _drop_connection_at_poison(db)
    path = _tasks(tmp_path / "tasks.jsonl", [f"T-{n}" for n in range(5)] + [POISON])
    [summary] = loading.load_paths(writer, [path], batch_rows=5)
    assert (summary.status, summary.retryable, summary.loaded) == ("interrupted", True, 5)
    [(loaded_by, status, read, error)] = query(db, "select loaded_by, status, records_read, error from raw.loads")
    assert (loaded_by, status, read) == (writer.user, "interrupted", 5)  # closed on a new connection
    assert error.startswith("the connection to the database was lost")


def test_a_writer_login_marks_the_dead_loads_of_other_logins_interrupted_and_no_live_one(
        db, writer_login, tmp_path):
    dead_owner, live_owner, loader = writer_login(), writer_login(), writer_login()
    with connection.connect(dead_owner, autocommit=True) as conn:
        dead = ledger.open_load(conn, "killed.jsonl", None, None, None, False)
    # its session ended without closing the load, as when a process dies: the lock went with it
    with connection.connect(live_owner, autocommit=True) as live:
        alive = ledger.open_load(live, "still-loading.jsonl", None, None, None, False)
        with connection.connect(loader, autocommit=True) as conn:
            # row-level security: a writer closes nothing of another login's loads itself...
            assert conn.execute("update raw.loads set status = 'interrupted', error = 'x'"
                                " where load_id = any(%s)", [[dead, alive]]).rowcount == 0
        # ...but its loads mark the dead ones interrupted, whoever opened them
        [summary] = loading.load_paths(loader, [_tasks(tmp_path / "next.jsonl", ["T-1"])])
        assert summary.status == "complete"
        assert query(db, "select load_id, loaded_by, status, starts_with(error, 'the process or connection')"
                         " from raw.loads order by load_id") == [
            (dead, dead_owner.user, "interrupted", True),
            (alive, live_owner.user, "running", None),
            (summary.load_id, loader.user, "complete", None),
        ]
        ledger.close_load(live, alive, status="complete", format="native", content_sha256=None, size_bytes=None,
                          read=0, loaded=0, updated=0, duplicates=0, rejected=0)
    assert query(db, "select status from raw.loads where load_id = %s", alive) == [("complete",)]


# -- the inbox -------------------------------------------------------------------------------------

def _inbox(tmp_path: Path, monkeypatch) -> Path:
    """A configured inbox; a lost connection is retried at once (the delays are for servers
    that restart)."""
    directory = tmp_path / "inbox"
    directory.mkdir()
    monkeypatch.setenv("ASP_INBOX", str(directory))
    monkeypatch.setattr(inbox, "RETRY_DELAYS_S", (0.0, 0.0))
    return directory


def test_a_poison_file_is_quarantined_with_its_reason_and_the_good_ones_load(db, tmp_path, monkeypatch):
    box = _inbox(tmp_path, monkeypatch)
    _drop_connection_at_poison(db)
    (box / "a-broken.jsonl.gz").write_bytes(b"\x1f\x8b not gzip")
    _tasks(box / "b-loses-its-connection.jsonl", ["T-1", POISON])
    (box / "c-link").symlink_to("/etc/passwd")
    Path(os.fsdecode(bytes(box) + b"/d-caf\xe9.jsonl")).write_text(json.dumps(task("T-ODD")) + "\n")
    _tasks(box / "e-good.jsonl", ["T-GOOD"])
    (box / "f-still-writing.jsonl.tmp").write_text("{")

    result = inbox.ingest(db, box)
    outcomes = {f.name: (f.outcome, f.attempts) for f in result.files}

    assert outcomes == {
        "a-broken.jsonl.gz": ("quarantined", 1),
        "b-loses-its-connection.jsonl": ("quarantined", 3),
        "c-link": ("quarantined", 1),
        "d-caf\\xe9.jsonl": ("archived", 1),
        "e-good.jsonl": ("archived", 1),
    }
    assert query(db, "select task_id from raw.task_metadata order by 1") == [("T-GOOD",), ("T-ODD",)]
    quarantine = box / "quarantine"
    assert sorted(p.name for p in quarantine.iterdir()) == [
        "a-broken.jsonl.gz", "a-broken.jsonl.gz.reason.txt", "b-loses-its-connection.jsonl",
        "b-loses-its-connection.jsonl.reason.txt", "c-link", "c-link.reason.txt",
    ]
    assert "not a readable gzip file" in (quarantine / "a-broken.jsonl.gz.reason.txt").read_text()
    assert "connection to the database was lost" in (quarantine / "b-loses-its-connection.jsonl.reason.txt").read_text()
    assert "symbolic link" in (quarantine / "c-link.reason.txt").read_text()
    assert (quarantine / "c-link").is_symlink()
    assert sorted(p.name for p in box.iterdir()) == ["archive", "f-still-writing.jsonl.tmp", "quarantine"]
    assert count(db, "rejected_records") == 0


def test_the_ingest_flow_reads_the_configured_inbox_only(db, tmp_path, monkeypatch, prefect_server, use_database):
    from asp_telemetry.flows.ingest import ingest

    use_database(db)
    box = _inbox(tmp_path, monkeypatch)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _tasks(elsewhere / "secret.jsonl", ["T-SECRET"])
    with pytest.raises(inbox.NotTheInbox, match="reads only the configured inbox"):
        ingest(str(elsewhere))
    assert (elsewhere / "secret.jsonl").exists() and count(db, "task_metadata") == 0

    (box / "poison.jsonl.gz").write_bytes(gzip.compress(b"x")[:5])
    _tasks(box / "good.jsonl", ["T-1"])
    result = ingest(str(box))
    assert {f.name: f.outcome for f in result.files} == {"poison.jsonl.gz": "quarantined", "good.jsonl": "archived"}
    assert count(db, "task_metadata") == 1


@pytest.mark.slow
def test_run_quarantines_the_poison_files_loads_the_good_ones_and_exits_0(db, tmp_path, prefect_server):
    from asp_telemetry import generate

    box = tmp_path / "inbox"
    generated = generate.generate(30, seed=5, out=box, tasks_per_file=15, workers=1)
    (box / "1-poison.jsonl.gz").write_bytes(b"\x1f\x8b\x08 truncated")
    (box / "2-link.jsonl").symlink_to("/etc/passwd")
    env = cli_environment(db, PREFECT_API_URL=prefect_server, ASP_INBOX=str(box), COLUMNS="200")

    result = subprocess.run([*CLI, "run", "--skip-snapshot"], env=env, capture_output=True, text=True, timeout=1200)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ingest: {len(generated.files) + 2} file(s)" in result.stdout and "2 quarantined" in result.stdout
    assert "quarantined 1-poison.jsonl.gz: " in result.stdout and "quarantined 2-link.jsonl: " in result.stdout
    assert count(db, "task_metadata") == 30
    assert sorted(p.name for p in (box / "quarantine").iterdir() if not p.name.endswith(".reason.txt")) == [
        "1-poison.jsonl.gz", "2-link.jsonl",
    ]
    assert len(list((box / "archive").rglob("*.jsonl"))) == len(generated.files)


@pytest.mark.parametrize("upgraded_to", [5, 6])
def test_a_database_without_migrations_0006_and_0007_is_refused_with_what_to_do(empty_db, tmp_path, upgraded_to):
    from asp_telemetry import migrations

    migrations.upgrade(empty_db, target=upgraded_to)
    path = _tasks(tmp_path / "t.jsonl", ["T-1"])
    result = run_cli("load", str(path), env=cli_environment(empty_db), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "run `asp-telemetry db upgrade` first" in " ".join(result.stderr.split())
    assert count(empty_db, "task_metadata") == 0
