"""The Prefect pipeline end to end on a real PostgreSQL with real dbt builds: ingest, transform,
bootstrap snapshot, write-back; inbox rules; one pipeline at a time; failures named."""

from __future__ import annotations

import gzip
import json
import logging
import shutil
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from support import point_environment_at

from asp_telemetry import connection, generate
from asp_telemetry.connection import ConnectionInfo

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _environment(info: ConnectionInfo, inbox=None) -> pytest.MonkeyPatch:
    """The database, and the configured inbox (the ingest flow reads no other)."""
    patch = pytest.MonkeyPatch()
    point_environment_at(patch, info)
    if inbox is not None:
        patch.setenv("ASP_INBOX", str(inbox))
    return patch


def _query(info: ConnectionInfo, sql: str, *params) -> list[tuple]:
    with connection.connect(info) as conn:
        return conn.execute(sql, params or None).fetchall()


@pytest.fixture(scope="module")
def first_run(prefect_server, make_database, tmp_path_factory):
    """200 generated tasks in an inbox, and one pipeline run over them."""
    from asp_telemetry.flows.pipeline import pipeline

    info = make_database("asp_pipeline")
    inbox = tmp_path_factory.mktemp("inbox")
    generated = generate.generate(200, seed=21, out=inbox, end=END, tasks_per_file=70, workers=1)
    records = [json.loads(line) for path in generated.files for line in path.read_text().splitlines()]
    patch = _environment(info, inbox)
    try:
        result = pipeline(inbox_dir=str(inbox))
    finally:
        patch.undo()
    return {"info": info, "inbox": inbox, "records": records, "result": result, "files": generated.files}


def test_every_file_is_loaded_then_archived(first_run):
    result, inbox = first_run["result"], first_run["inbox"]
    assert [f.outcome for f in result.ingest.files] == ["archived"] * 3
    assert not list(inbox.glob("*.jsonl"))
    assert len(list((inbox / "archive").rglob("*.jsonl"))) == 3
    assert result.ingest.rejected == 0 and result.build.success and result.bootstrap_build.success


def test_row_counts_are_conserved_from_files_to_raw_to_marts(first_run):
    info, records = first_run["info"], first_run["records"]
    by_table = Counter(r["record"] for r in records)
    costs = [r for r in records if r["record"] == "agent_cost_vector"]
    defects = [r for r in records if r["record"] == "defect_log"]
    tasks = {r["task_id"] for r in records}
    assert _query(info, "select count(*) from raw.agent_cost_vector") == [(by_table["agent_cost_vector"],)]
    assert _query(info, "select count(*) from raw.defect_log") == [(by_table["defect_log"],)]
    assert _query(info, "select count(*) from raw.task_metadata") == [(len(tasks),)]
    executions = {r["metadata"]["execution_id"] for r in costs}
    assert _query(info, "select count(*) from marts.fct_agent_executions") == [(len(executions),)]
    assert _query(info, "select count(*) from marts.fct_task_costs") == [(len(tasks),)]
    assert _query(info, "select count(*) from marts.fct_defects") == [(len(defects),)]
    tokens_in = sum(r["metric_value"] for r in costs if r["metric_type"] == "Tokens_In")
    cost = sum(Decimal(str(r["metric_value"])) for r in costs if r["metric_type"] == "API_Cost")
    assert _query(info, "select sum(actual_tokens_in), sum(actual_api_cost_usd) from marts.fct_task_costs") == [
        (tokens_in, cost)]
    real = [d for d in defects if not d["false_positive"]]
    assert _query(info, "select sum(injected), sum(removed) from marts.mart_phase_yield") == [(len(real), len(real))]
    daily = _query(info, "select sum(executions), sum(total_cost_usd) from marts.fct_daily_role_costs")
    assert daily == [(len(executions), cost)]


def test_write_back_fills_the_derived_task_columns(first_run):
    info, records = first_run["info"], first_run["records"]
    real_by_task = Counter(r["task_id"] for r in records if r["record"] == "defect_log" and not r["false_positive"])
    rows = _query(info, "select task_id, defect_count, actual_cost_vector_json from raw.task_metadata")
    assert {task_id: count for task_id, count, _ in rows if count} == dict(real_by_task)
    tokens = Counter()
    for r in records:
        if r["record"] == "agent_cost_vector" and r["metric_type"] in ("Tokens_In", "Tokens_Out"):
            tokens[r["task_id"]] += r["metric_value"]
    assert {task_id: vector["tokens"] for task_id, _, vector in rows} == dict(tokens)
    assert first_run["result"].write_back.tasks_updated == len(rows)


def _reference_snapshot(info: ConnectionInfo, start: datetime, end: datetime) -> dict[str, tuple[int, float]]:
    """metrics.md "Bootstrap learning", computed here from the raw rows."""
    tasks = {row[0]: row for row in _query(info, """
        select task_id, status, coalesce(completed_at, created_at), estimated_complexity, actual_complexity,
               (estimated_cost_vector_json ->> 'api_cost_usd')::numeric from raw.task_metadata""")}
    in_period = {t: row for t, row in tasks.items() if start <= row[2] < end}
    completed = {t: row for t, row in in_period.items() if row[1] == "completed"}
    cost = Counter()
    costs = _query(info, "select task_id, metric_value from raw.agent_cost_vector where metric_type = 'API_Cost'")
    for task_id, value in costs:
        cost[task_id] += value
    kept = [(cost[t], row[5]) for t, row in completed.items() if cost[t] > 0 and row[5] is not None]
    result = {"PROBE_AI": (len(kept), float(sum(100 * abs(a - e) / a for a, e in kept) / len(kept)))}
    complexity = [(row[4], row[3]) for row in completed.values() if row[4] and row[3] is not None]
    result["TaskDecomposition"] = (len(complexity), sum(100 * abs(a - e) / a for a, e in complexity) / len(complexity))
    defects = [d for d in _query(info, """
        select task_id, phase_injected, phase_removed, flagged_by_agent, validated_by_human, false_positive
        from raw.defect_log""") if d[0] in in_period]
    for capability, review in (("ReviewAgent_Design", "DesignReview"), ("ReviewAgent_Code", "CodeReview")):
        tp = sum(1 for d in defects if d[2] == review and d[3] and d[4] and not d[5])
        fp = sum(1 for d in defects if d[2] == review and d[3] and d[5])
        if tp + fp:
            result[capability] = (len(completed), 100 * tp / (tp + fp))
    return result


def test_the_snapshot_equals_the_definitions_and_replaces_its_period(first_run):
    from asp_telemetry import snapshot

    info = first_run["info"]
    start, end = END - timedelta(days=10), END - timedelta(days=2)
    first = snapshot.take(info, start, end)
    again = snapshot.take(info, start, end)
    assert again.replaced_rows == len(first.capabilities) == 4
    rows = _query(info, """
        select capability_name, tasks_completed, primary_metric_value, primary_metric_target,
               tasks_required_for_graduation, graduation_criteria_met, capability_mode
        from raw.bootstrap_metrics
        where measurement_period_start = %s and measurement_period_end = %s""", start, end)
    assert len(rows) == 4, "the same period twice leaves one row per capability"
    expected = _reference_snapshot(info, start, end)
    directions = {"PROBE_AI": "lower", "TaskDecomposition": "lower", "ReviewAgent_Design": "higher",
                  "ReviewAgent_Code": "higher"}
    for name, tasks, value, target, required, graduated, mode in rows:
        assert tasks == expected[name][0], name
        assert float(value) == pytest.approx(expected[name][1], abs=1e-4), name
        meets = float(value) <= float(target) if directions[name] == "lower" else float(value) >= float(target)
        assert graduated == (tasks >= required and meets), name
        assert mode in ("Learning", "Shadow", "Autonomous")


def test_a_file_added_twice_under_two_names_adds_nothing(first_run, prefect_server):
    from asp_telemetry.flows.ingest import ingest

    info, inbox = first_run["info"], first_run["inbox"]
    before = _query(info, "select count(*) from raw.agent_cost_vector")[0][0]
    archived = sorted((inbox / "archive").rglob("*.jsonl"))[0]
    shutil.copy(archived, inbox / "copy-under-another-name.jsonl")
    with gzip.open(inbox / "and-compressed.jsonl.gz", "wb") as handle:
        handle.write(archived.read_bytes())
    patch = _environment(info, inbox)
    logged: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = logged.append
    flow_logger = logging.getLogger("prefect.flow_runs")
    flow_logger.addHandler(handler)
    try:
        result = ingest(str(inbox))
    finally:
        flow_logger.removeHandler(handler)
        patch.undo()
    lines = len(archived.read_text().splitlines())
    assert [f.outcome for f in result.files] == ["archived", "archived"]
    assert result.loaded == 0 and result.duplicates + result.updated == 2 * lines
    # the flow's summary line counts what `load` counts, updates included
    assert (f"0 loaded, {result.updated} updated, {result.duplicates} duplicates, 0 rejected, 0 quarantined"
            in [record.getMessage().split(": ", 1)[-1] for record in logged])
    assert _query(info, "select count(*) from raw.agent_cost_vector")[0][0] == before


def test_a_file_still_being_written_is_left_alone_and_a_broken_one_quarantined(first_run, prefect_server):
    from asp_telemetry.flows.ingest import ingest

    info, inbox = first_run["info"], first_run["inbox"]
    partial = inbox / "sdk-partial.jsonl.tmp"
    partial.write_text('{"record": "task_metadata", "task_id": "HALF-1"}\n{"record": "task_me')
    (inbox / "broken.jsonl.gz").write_bytes(b"\x1f\x8b this is not gzip")
    patch = _environment(info, inbox)
    try:
        result = ingest(str(inbox))
    finally:
        patch.undo()
    assert partial.exists()
    assert [(f.name, f.outcome) for f in result.files] == [("broken.jsonl.gz", "quarantined")]
    reason = (inbox / "quarantine" / "broken.jsonl.gz.reason.txt").read_text()
    assert "gzip" in reason
    assert _query(info, "select count(*) from raw.task_metadata where task_id = 'HALF-1'") == [(0,)]
    partial.unlink()


def test_two_pipelines_started_at_once_never_overlap(first_run, prefect_server):
    from asp_telemetry.flows.pipeline import pipeline

    info = first_run["info"]
    results, errors = [], []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(pipeline(inbox_dir=str(first_run["inbox"]), skip_snapshot=True))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    patch = _environment(info, first_run["inbox"])
    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        patch.undo()
    assert errors == []
    first, second = sorted(results, key=lambda r: r.started_at)
    assert first.finished_at <= second.started_at
    assert second.waited_s > 0


def test_a_failing_dbt_test_fails_the_flow_naming_it(make_database, prefect_server, tmp_path):
    from asp_telemetry.flows.transform import DbtBuildFailed, transform

    info = make_database("asp_failing")
    with connection.connect(info) as conn:
        conn.execute("insert into raw.agent_cost_vector (task_id, agent_role, metric_type, metric_value, metric_unit)"
                     " values ('T-1', 'Coder', 'Latency', 5, 'ms')")
    patch = _environment(info)
    try:
        with pytest.raises(DbtBuildFailed, match=r"known_values\(agent_role\)"):
            transform()
    finally:
        patch.undo()


def test_the_build_results_are_published_as_a_table_artifact(first_run, prefect_server):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def artifacts():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["dbt-build-results"])))

    found = asyncio.run(artifacts())
    assert found and all(artifact.type == "table" for artifact in found)
    tables = [a.data if isinstance(a.data, list) else json.loads(a.data) for a in found]
    assert all({"node", "type", "status", "seconds", "failures"} <= set(rows[0]) for rows in tables)
    full_builds = [rows for rows in tables if "fct_agent_executions" in {row["node"] for row in rows}]
    # this session's other full builds include a failing one, and artifacts come in no set
    # order: find the pipeline's own build by its rows
    pipeline_build = [
        {"node": node.name, "type": node.resource_type, "status": node.status,
         "seconds": round(node.execution_time, 2), "failures": node.failures or 0}
        for node in first_run["result"].build.nodes
    ]
    assert pipeline_build in full_builds, "the pipeline's full build is among the artifacts"
    assert not {row["status"] for row in pipeline_build} & {"error", "fail", "runtime error", "skipped"}


def test_transient_database_errors_are_retried_and_bad_data_is_not(prefect_server):
    import psycopg
    from prefect import flow, task

    from asp_telemetry.flows.common import retry_on_transient_database_error

    calls = Counter()

    @task(retries=2, retry_delay_seconds=0, retry_condition_fn=retry_on_transient_database_error)
    def flaky(kind: str) -> str:
        calls[kind] += 1
        if calls[kind] == 1:
            raise psycopg.OperationalError("server closed the connection unexpectedly") if kind == "transient" \
                else ValueError("metric_value must be non-negative")
        return "done"

    @flow
    def run(kind: str) -> str:
        return flaky(kind)

    assert run("transient") == "done" and calls["transient"] == 2
    with pytest.raises(ValueError, match="non-negative"):
        run("bad data")
    assert calls["bad data"] == 1


def test_the_snapshot_command_writes_a_period_and_rebuilds_its_mart(first_run):
    from support import cli_environment, run_cli

    info = first_run["info"]
    start, end = (END - timedelta(days=6)).strftime("%Y-%m-%dT%H:%M"), END.strftime("%Y-%m-%dT%H:%M")
    output = run_cli("snapshot", "--start", start, "--end", end, env=cli_environment(info, COLUMNS="200")).stdout
    assert f"snapshot {start.replace('T', ' ')} – {end.replace('T', ' ')} UTC: 4 capabilities" in output
    assert "PROBE_AI:" in output and "needed to graduate;" in output
    latest = _query(info, "select max(measured_at) from marts.mart_bootstrap_status")[0][0]
    written = _query(info, "select max(measured_at) from raw.bootstrap_metrics where measurement_period_end = %s",
                     END)[0][0]
    assert latest == written
