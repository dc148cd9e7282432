"""Nothing twice: the same records again (same file, renamed copy, overlapping windows, two
loads at once) add nothing; a load killed halfway leaves whole batches and loading again
completes it. (Memory that stays flat however large the input is measured by `make bench`;
tests/test_load_limits.py checks the bounds that keep it so.)"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

from load_support import cost, count, defect, query, task
from support import CLI, cli_environment

from asp_telemetry import connection, loading


def _executions(path: Path, first: int, last: int, metrics=("Latency", "Tokens_In", "Tokens_Out")) -> Path:
    with path.open("w") as handle:
        for n in range(first, last):
            for metric in metrics:
                handle.write(
                    json.dumps(cost(metric, n % 997 + 1, task_id=f"T-{n // 10}", metadata={"execution_id": f"E-{n}"}))
                    + "\n"
                )
    return path


def test_the_same_file_again_and_a_renamed_copy_add_nothing(db, tmp_path):
    original = _executions(tmp_path / "day.jsonl", 0, 200)
    with original.open("a") as handle:
        handle.write(json.dumps(task("T-0")) + "\n" + json.dumps(defect("D-1", task_id="T-0")) + "\n")
    copy = tmp_path / "renamed-copy.jsonl"
    shutil.copy(original, copy)
    [first] = loading.load_paths(db, [original])
    [again] = loading.load_paths(db, [original])
    [renamed] = loading.load_paths(db, [copy])
    assert (first.loaded, first.duplicates) == (602, 0)
    assert (again.loaded, again.duplicates) == (renamed.loaded, renamed.duplicates) == (0, 602)
    assert count(db, "agent_cost_vector") == 600
    # The ledger recognises the same bytes under another name.
    assert query(db, "select count(distinct source), count(distinct content_sha256) from raw.loads") == [(2, 1)]


def test_overlapping_windows_add_only_what_is_new(db, tmp_path):
    loading.load_paths(db, [_executions(tmp_path / "a.jsonl", 0, 300)])
    [summary] = loading.load_paths(db, [_executions(tmp_path / "b.jsonl", 200, 500)])
    assert (summary.loaded, summary.duplicates) == (600, 300)
    assert count(db, "agent_cost_vector") == 1500


def _start_load(db, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*CLI, "load", *args], env=cli_environment(db), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_loads_at_once_insert_each_record_once(db, tmp_path):
    a = _executions(tmp_path / "a.jsonl", 0, 3000)
    b = _executions(tmp_path / "b.jsonl", 1500, 4500)  # overlaps a by half, in the same order
    c = tmp_path / "c.jsonl"  # the overlap again, in reverse order
    c.write_text("".join(reversed(b.read_text().splitlines(keepends=True))))
    processes = [_start_load(db, "--batch-rows", "500", str(p)) for p in (a, b, c)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert count(db, "agent_cost_vector") == 4500 * 3
    assert query(db, "select sum(loaded), sum(duplicates), sum(rejected) from raw.loads") == [(13500, 13500, 0)]


def _wait_for_sessions_to_end(db, timeout_s: float = 120) -> None:
    """The server ends a killed client's sessions when it notices: wait until it has."""
    deadline = time.monotonic() + timeout_s
    while query(db, "select count(*) from pg_stat_activity where datname = current_database()"
                    " and pid <> pg_backend_pid()") != [(0,)]:
        assert time.monotonic() < deadline, "the killed load's sessions did not end"
        time.sleep(0.05)


def test_a_load_killed_halfway_leaves_whole_batches_and_loading_again_completes_it(db, tmp_path):
    path = _executions(tmp_path / "big.jsonl", 0, 80_000, metrics=("Latency",))
    batch = 1000
    process = _start_load(db, "--batch-rows", str(batch), str(path))
    deadline = time.monotonic() + 120
    loaded = 0
    while time.monotonic() < deadline and loaded == 0:
        time.sleep(0.05)
        loaded = count(db, "agent_cost_vector")
    with connection.connect(db) as blocker:
        # Holds the load at its next batch (COPY waits for this lock), however fast it runs.
        blocker.execute("lock table raw.agent_cost_vector in share mode")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    _wait_for_sessions_to_end(db)
    after_kill = count(db, "agent_cost_vector")
    assert 0 < after_kill < 80_000, "the load was not interrupted halfway; make the file larger"
    assert after_kill % batch == 0  # no half batch
    # The killed load's row says running, but no live load holds it: the next load marks it.
    assert query(db, "select status from raw.loads") == [("running",)]

    [summary] = loading.load_paths(db, [path], batch_rows=batch)
    assert (summary.loaded + summary.duplicates, summary.duplicates) == (80_000, after_kill)
    assert count(db, "agent_cost_vector") == 80_000
    assert query(db, "select status, error is not null from raw.loads order by load_id") == [
        ("interrupted", True), ("complete", False),
    ]
