"""The synthetic generator: deterministic, streaming, and realistic enough to analyse."""

from __future__ import annotations

import json
import statistics
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import cli_environment, run_cli

from asp_telemetry import generate

END = datetime(2026, 11, 1, tzinfo=UTC)


def _read(files: list[Path]) -> list[dict]:
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> generate.GenerateSummary:
    return generate.generate(1500, seed=11, out=tmp_path_factory.mktemp("gen"), end=END, tasks_per_file=400)


@pytest.fixture(scope="module")
def records(generated) -> list[dict]:
    return _read(generated.files)


def test_same_seed_same_files_whatever_the_split_and_workers(tmp_path):
    one = generate.generate(120, seed=5, out=tmp_path / "a", end=END, tasks_per_file=50, workers=2)
    two = generate.generate(120, seed=5, out=tmp_path / "b", end=END, tasks_per_file=120, workers=1)
    other = generate.generate(120, seed=6, out=tmp_path / "c", end=END, tasks_per_file=120, workers=1)
    assert [p.name for p in one.files] == [
        "synthetic-s5-00001.jsonl",
        "synthetic-s5-00002.jsonl",
        "synthetic-s5-00003.jsonl",
    ]
    text = lambda summary: "".join(p.read_text() for p in summary.files)  # noqa: E731
    assert text(one) == text(two)
    assert text(one) != text(other)
    assert one.records == two.records
    assert not list(tmp_path.rglob("*.tmp"))


def test_counts_in_the_summary_match_the_files(generated, records):
    assert generated.records == dict(Counter(r["record"] for r in records))
    assert len(generated.files) == 4
    assert len({r["task_id"] for r in records}) == 1500


def test_memory_stays_flat_as_the_task_count_grows(tmp_path):
    def peak(tasks: int) -> int:
        tracemalloc.start()
        generate.generate(tasks, seed=1, out=tmp_path / str(tasks), end=END, tasks_per_file=tasks, workers=1)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(100), peak(1000)
    assert large < small * 1.5, (small, large)


def test_timestamps_span_the_period_and_tasks_are_completed_or_in_progress(records):
    tasks = [r for r in records if r["record"] == "task_metadata"]
    created = [datetime.fromisoformat(t["created_at"]) for t in tasks]
    assert min(created) >= datetime(2026, 10, 4, tzinfo=UTC)
    assert max(created) <= END
    assert (max(created) - min(created)).days >= 26
    final_status = {t["task_id"]: t["status"] for t in tasks}
    shares = Counter(final_status.values())
    assert shares["completed"] / 1500 > 0.9
    assert shares["failed"] >= 1 and shares["in_progress"] >= 1


def test_every_phase_runs_and_correction_loops_raise_the_iteration(records):
    costs = [r for r in records if r["record"] == "agent_cost_vector"]
    assert {r["agent_role"] for r in costs} == set(generate.PIPELINE)
    iterations = Counter((r["agent_role"], r["agent_iteration"]) for r in costs if r["metric_type"] == "Latency")
    assert iterations[("Code", 2)] > 0 and iterations[("Design", 2)] > 0
    assert {role for role, it in iterations if it > 1} <= {"Design", "Code"}
    executions = {}
    for r in costs:
        executions.setdefault(r["metadata"]["execution_id"], set()).add((r["timestamp"], r["agent_role"]))
    assert all(len(v) == 1 for v in executions.values()), "one timestamp and role per execution"
    units = {r["metric_type"]: r["metric_unit"] for r in costs}
    assert units == {
        "Latency": "ms", "Tokens_In": "tokens", "Tokens_Out": "tokens", "API_Cost": "USD",
        "Tool_Calls": "count", "Retries": "count", "Memory_Usage": "MB",
    }
    assert len({(r["llm_model"], r["llm_provider"]) for r in costs}) >= 4


def test_cost_grows_with_complexity_so_probe_regression_is_meaningful(records):
    estimated = {r["task_id"]: r["estimated_complexity"] for r in records if r.get("estimated_complexity")}
    tokens: Counter = Counter()
    for r in records:
        if r["record"] == "agent_cost_vector" and r["metric_type"] in ("Tokens_In", "Tokens_Out"):
            tokens[r["task_id"]] += r["metric_value"]
    xs = [estimated[t] for t in tokens]
    ys = [tokens[t] for t in tokens]
    r = statistics.correlation(xs, ys)
    assert 0.7 < r < 0.99, r  # strongly related, but noisy


def test_defects_follow_the_pipeline(records):
    defects = [r for r in records if r["record"] == "defect_log"]
    order = generate.PHASE_ORDER
    assert len({d["defect_id"] for d in defects}) == len(defects)
    assert all(order[d["phase_removed"]] > order[d["phase_injected"]] for d in defects)
    assert {d["phase_injected"] for d in defects} == {"Planning", "Design", "Code"}
    real = [d for d in defects if not d["false_positive"]]
    false_positives = [d for d in defects if d["false_positive"]]
    assert false_positives and all(d["flagged_by_agent"] and not d["validated_by_human"] for d in false_positives)
    in_review = [d for d in real if d["phase_removed"] in ("DesignReview", "CodeReview")]
    flagged = sum(d["flagged_by_agent"] for d in in_review) / len(in_review)
    assert 0.75 < flagged < 0.95
    pending = [d for d in in_review if d["flagged_by_agent"] and not d["validated_by_human"]]
    assert pending, "some flags wait for human validation"
    assert not any(d["flagged_by_agent"] for d in real if d["phase_removed"] in ("Test", "Postmortem"))
    removed = Counter(d["phase_removed"] for d in real)
    assert removed["CodeReview"] > removed["Test"] > removed["Postmortem"] > 0
    for d in defects:
        effort = d["effort_to_fix_json"]
        assert set(effort) == {"latency_ms", "tokens", "api_cost_usd", "retries"}
        if d["resolved_at"]:
            assert d["resolved_at"] >= d["created_at"]


def test_the_cli_writes_files_and_says_what_it_wrote(tmp_path, pg_server):
    out = tmp_path / "synthetic"
    result = run_cli("generate", "--tasks", "50", "--seed", "3", "--out", str(out), "--end", "2026-11-01T00:00",
                     env=cli_environment(pg_server))
    assert "wrote 1 file(s)" in result.stdout and "50" not in result.stderr
    assert [p.name for p in out.iterdir()] == ["synthetic-s3-00001.jsonl"]
    bad = run_cli("generate", "--tasks", "0", "--out", str(out), env=cli_environment(pg_server), check=False)
    assert bad.returncode == 1 and "--tasks must be at least 1" in bad.stderr
