"""The instrumentation SDK, delivering to JSON Lines files (the inbox). Delivery into
PostgreSQL and through the pipeline is tested in test_sdk_delivery.py."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import asp_telemetry as asp


def _records(spool: Path) -> list[dict]:
    assert not list(spool.glob("*.tmp")), "no half-written file is left behind"
    return [json.loads(line) for path in sorted(spool.glob("*.jsonl")) for line in path.read_text().splitlines()]


def _metrics(records: list[dict]) -> dict[tuple, float]:
    return {
        (r["agent_role"], r["agent_iteration"], r["metric_type"]): r["metric_value"]
        for r in records if r["record"] == "agent_cost_vector"
    }


@pytest.fixture
def spool(tmp_path) -> Path:
    asp.configure(sink="jsonl", spool_dir=tmp_path / "inbox", flush_interval_s=0.05, otel=False)
    yield tmp_path / "inbox"
    asp.flush(120)


def test_a_decorated_call_is_one_execution_with_summed_usage(spool):
    @asp.track_agent(role="Code", model="claude-sonnet-4", provider="anthropic", version="v2")
    def write_code(task_id: str) -> str:
        asp.record_usage(tokens_in=1000, tokens_out=200, cost_usd=0.01)
        asp.record_usage(tokens_in=500, tokens_out=100, cost_usd=0.005, model="claude-sonnet-4-5")
        asp.record_tool_call("pytest")
        asp.record_tool_call("git")
        asp.record_metric("Memory_Usage", 412.5, "MB")
        return "done"

    assert write_code("T-1") == "done"
    assert asp.flush(120)
    records = _records(spool)
    assert {r["metadata"]["execution_id"] for r in records} and len(
        {r["metadata"]["execution_id"] for r in records}
    ) == 1
    metrics = _metrics(records)
    assert metrics[("Code", 1, "Tokens_In")] == 1500
    assert metrics[("Code", 1, "Tokens_Out")] == 300
    assert metrics[("Code", 1, "API_Cost")] == pytest.approx(0.015)
    assert metrics[("Code", 1, "Tool_Calls")] == 2
    assert metrics[("Code", 1, "Memory_Usage")] == 412.5
    assert metrics[("Code", 1, "Latency")] >= 0
    first = records[0]
    assert (first["task_id"], first["llm_model"], first["llm_provider"], first["agent_version"]) == (
        "T-1", "claude-sonnet-4-5", "anthropic", "v2")
    assert first["metadata"]["tool_names"] == ["pytest", "git"]
    assert {r["metric_unit"] for r in records} == {"ms", "tokens", "USD", "count", "MB"}


def test_cost_is_never_invented(spool):
    @asp.track_agent(role="Design")
    def design(task_id):
        asp.record_usage(tokens_in=10, tokens_out=5)

    design("T-2")
    asp.flush(120)
    assert "API_Cost" not in {r["metric_type"] for r in _records(spool)}


def test_latency_is_measured_with_a_monotonic_clock(spool):
    import time

    @asp.track_agent(role="Test")
    def slow(task_id):
        time.sleep(0.05)

    slow("T-3")
    asp.flush(120)
    # Milliseconds (not seconds, not microseconds), however slow a busy machine made the call.
    assert 45 <= _metrics(_records(spool))[("Test", 1, "Latency")] < 30_000


def test_task_id_from_an_attribute_of_a_parameter(spool):
    class Request:
        def __init__(self, task_id):
            self.task_id = task_id

    @asp.track_agent(role="Planning", task_id_param="request.task_id")
    def plan(request):
        return None

    plan(Request("T-attr"))
    plan(request={"task_id": "T-dict"})
    asp.flush(120)
    assert {r["task_id"] for r in _records(spool)} == {"T-attr", "T-dict"}


def test_exceptions_are_recorded_and_reraised_untouched(spool):
    class Boom(Exception):
        pass

    error = Boom("kept as is")

    @asp.track_agent(role="Code")
    def failing(task_id):
        raise error

    with pytest.raises(Boom) as caught:
        failing("T-4")
    assert caught.value is error
    asp.flush(120)
    assert {r["metadata"]["error_type"] for r in _records(spool)} == {"Boom"}


def test_async_functions_are_tracked_and_usage_stays_with_its_own_run(spool):
    @asp.track_agent(role="CodeReview")
    async def review(task_id, tokens):
        await asyncio.sleep(0.01)
        asp.record_usage(tokens_in=tokens, tokens_out=1)
        await asyncio.sleep(0.01)
        return tokens

    async def both():
        return await asyncio.gather(review("T-a", 100), review("T-b", 200))

    assert asyncio.run(both()) == [100, 200]
    asp.flush(120)
    tokens = {r["task_id"]: r["metric_value"] for r in _records(spool) if r["metric_type"] == "Tokens_In"}
    assert tokens == {"T-a": 100, "T-b": 200}


def test_correction_loops_count_iterations_inside_a_task(spool):
    @asp.track_agent(role="Code")
    def code():
        return None

    @asp.track_agent(role="CodeReview")
    def review():
        return None

    with asp.task("T-loop", project_id="P"):
        code()
        review()
        code()
        code()
    with asp.agent_run(task_id="T-loop", role="Code", iteration=7) as run:
        run.record_usage(tokens_in=1, tokens_out=1)
    asp.flush(120)
    records = _records(spool)
    iterations = sorted({(r["agent_role"], r["agent_iteration"]) for r in records})
    assert iterations == [("Code", 1), ("Code", 2), ("Code", 3), ("Code", 7), ("CodeReview", 1)]
    assert {r["project_id"] for r in records if r["agent_iteration"] < 7} == {"P"}


def test_misuse_is_logged_and_counted_never_raised(spool, caplog):
    before = asp.stats().errors
    asp.record_usage(tokens_in=5)  # outside a run
    with asp.agent_run(task_id="T-5", role="Code") as run:
        run.record_usage(tokens_in=-1)
        asp.record_usage(tokens_in="many")
        asp.record_metric("Memory_Usage", float("nan"), "MB")
    assert asp.stats().errors == before + 4
    assert "outside a tracked agent run" in caplog.text
    with pytest.raises(ValueError, match="needs a role"):
        asp.track_agent(role="")


def test_tasks_and_defects_are_recorded(spool):
    asp.record_task("T-6", project_id="P", estimated_complexity=12, estimated_cost_vector={"tokens": 5000},
                    status="in_progress")
    defect_id = asp.record_defect(
        "T-6",
        "4_Hallucination",
        "Code",
        "CodeReview",
        "imported a package that does not exist",
        effort_to_fix={"tokens": 300},
        flagged_by_agent=True,
    )
    asp.record_task("T-6", status="completed", actual_complexity=14)
    asp.flush(120)
    records = _records(spool)
    task_records = [r for r in records if r["record"] == "task_metadata"]
    assert task_records[0]["estimated_cost_vector_json"] == {"tokens": 5000}
    assert task_records[0]["started_at"] and task_records[1]["completed_at"]
    defect = next(r for r in records if r["record"] == "defect_log")
    assert defect["defect_id"] == defect_id and defect_id.startswith("D-")
    assert defect["effort_to_fix_json"] == {"tokens": 300} and defect["created_at"]


def test_past_the_queue_bound_the_caller_spools_instead_of_dropping(tmp_path):
    inbox = tmp_path / "inbox"
    # A flush interval of an hour: the writer thread would not deliver on its own.
    asp.configure(sink="jsonl", spool_dir=inbox, max_queue=10, batch_size=10_000, flush_interval_s=3600)

    @asp.track_agent(role="Code")
    def call(task_id):
        asp.record_usage(tokens_in=1, tokens_out=1)

    for i in range(50):
        call(f"T-{i}")
    # 10 wait in the queue; the 40 beyond the bound were spooled on the caller's thread.
    assert asp.stats().spooled == 40 * 3
    assert len({r["task_id"] for r in _records(inbox)}) == 40
    assert asp.flush(120)
    assert len({r["task_id"] for r in _records(inbox)}) == 50
    assert asp.stats().dropped == 0


def _run_python(code: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=600)


def test_records_are_flushed_at_interpreter_exit(tmp_path):
    inbox = tmp_path / "inbox"
    result = _run_python(
        """
        import asp_telemetry as asp

        @asp.track_agent(role="Code")
        def call(task_id):
            asp.record_usage(tokens_in=3, tokens_out=4)

        for i in range(2500):
            call(f"T-{i}")
        # no flush: the atexit hook delivers
        """,
        {"ASP_SDK_SPOOL_DIR": str(inbox), "ASP_SDK_FLUSH_INTERVAL": "3600"},
    )
    assert result.returncode == 0, result.stderr
    assert len([r for r in _records(inbox) if r["metric_type"] == "Latency"]) == 2500


def test_a_forked_child_starts_its_own_writer(tmp_path):
    inbox = tmp_path / "inbox"
    result = _run_python(
        """
        import os
        import asp_telemetry as asp

        @asp.track_agent(role="Code")
        def call(task_id):
            asp.record_usage(tokens_in=1, tokens_out=1)

        call("parent-before-fork")       # starts the parent's writer thread
        pid = os.fork()
        if pid == 0:
            call("child")
            asp.flush(120)
            os._exit(0)
        os.waitpid(pid, 0)
        call("parent-after-fork")
        """,
        {"ASP_SDK_SPOOL_DIR": str(inbox), "ASP_SDK_FLUSH_INTERVAL": "0.05"},
    )
    assert result.returncode == 0, result.stderr
    latency = [r for r in _records(inbox) if r["metric_type"] == "Latency"]
    assert sorted(r["task_id"] for r in latency) == ["child", "parent-after-fork", "parent-before-fork"]


def test_a_multiprocessing_child_delivers_without_an_explicit_flush(tmp_path):
    inbox = tmp_path / "inbox"
    result = _run_python(
        """
        import multiprocessing as mp
        import asp_telemetry as asp

        @asp.track_agent(role="Test")
        def call(task_id):
            return task_id

        def work(n):
            for i in range(n):
                call(f"child-{i}")

        if __name__ == "__main__":
            call("parent")
            process = mp.get_context("fork").Process(target=work, args=(100,))
            process.start()
            process.join()
        """,
        {"ASP_SDK_SPOOL_DIR": str(inbox), "ASP_SDK_FLUSH_INTERVAL": "3600"},
    )
    assert result.returncode == 0, result.stderr
    assert len([r for r in _records(inbox) if r["metric_type"] == "Latency"]) == 101


def test_a_broken_sink_never_reaches_the_agent(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the spool directory should be")
    asp.configure(sink="jsonl", spool_dir=blocker / "inbox", max_queue=1, flush_interval_s=0.05)

    @asp.track_agent(role="Code")
    def call(task_id):
        return "still works"

    before = asp.stats()
    dropped_before, errors_before = before.dropped, before.errors
    assert [call(f"T-{i}") for i in range(5)] == ["still works"] * 5
    asp.flush(120)
    stats = asp.stats()
    assert stats.dropped > dropped_before and stats.errors > errors_before


def test_a_run_without_a_task_id_is_counted_as_dropped_not_raised(spool):
    @asp.track_agent(role="Code", task_id_param=None)
    def anonymous():
        return 1

    before = asp.stats().dropped
    assert anonymous() == 1
    assert asp.stats().dropped == before + 1
