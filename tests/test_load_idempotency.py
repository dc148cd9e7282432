"""Nothing twice: the same records again (same file, renamed copy, overlapping windows, two
loads at once) add nothing; a load killed halfway leaves whole batches and loading again
completes it; memory does not grow with the input."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import tracemalloc
from pathlib import Path

from load_support import cost, count, defect, query, task
from support import CLI, cli_environment

from asp_telemetry import loading


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


def test_a_load_killed_halfway_leaves_whole_batches_and_loading_again_completes_it(db, tmp_path):
    path = _executions(tmp_path / "big.jsonl", 0, 80_000, metrics=("Latency",))
    batch = 1000
    process = _start_load(db, "--batch-rows", str(batch), str(path))
    deadline = time.monotonic() + 120
    loaded = 0
    while time.monotonic() < deadline and loaded == 0:
        time.sleep(0.05)
        loaded = count(db, "agent_cost_vector")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    after_kill = count(db, "agent_cost_vector")
    assert 0 < after_kill < 80_000, "the load was not interrupted halfway; make the file larger"
    assert after_kill % batch == 0  # no half batch
    assert query(db, "select status from raw.loads") == [("running",)]  # visible as interrupted

    [summary] = loading.load_paths(db, [path], batch_rows=batch)
    assert (summary.loaded + summary.duplicates, summary.duplicates) == (80_000, after_kill)
    assert count(db, "agent_cost_vector") == 80_000


def _peak_python_memory(db, path: Path) -> int:
    tracemalloc.start()
    try:
        loading.load_paths(db, [path], batch_rows=1000)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_however_large_the_file(db, tmp_path):
    small = _executions(tmp_path / "small.jsonl", 0, 2_000, metrics=("Latency",))  # 2 batches
    large = _executions(tmp_path / "large.jsonl", 10_000, 30_000, metrics=("Latency",))  # 20 batches
    small_peak = _peak_python_memory(db, small)
    large_peak = _peak_python_memory(db, large)
    assert large.stat().st_size > 9 * small.stat().st_size
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
    assert count(db, "agent_cost_vector") == 22_000
