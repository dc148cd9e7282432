"""`load --target spark`: the same parsing and validation as the PostgreSQL load, written as
Parquet datasets on the lake (read back here with pyarrow; no Spark). The same files loaded
into a real PostgreSQL are the reference: the lake holds the same records (what staging on
Spark makes of them, tests/lake_support.py), and the same rejects, byte for byte."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lake_support import LINEAGE, dataset, lake_state, rows
from load_support import bootstrap, cost, defect, jsonl, query, task
from otlp_support import collector_json
from support import CLI
from test_load_langfuse import META, observations, traces_page
from test_load_otlp import _pipeline

from asp_telemetry import generate, inbox, lake, loading
from asp_telemetry.lake.schemas import RAW_SCHEMAS, REJECTS_SCHEMA
from asp_telemetry.loading.records import TABLES
from asp_telemetry.loading.tables import TABLE_LOADS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _inputs(directory: Path) -> list[tuple[Path, dict]]:
    """Every format the loader reads, with records that are wrong in each of the ways it knows."""
    directory.mkdir()
    generated = generate.generate(12, seed=3, out=directory / "generated", workers=1).files
    native = jsonl(directory / "mixed.jsonl", [
        cost("API_Cost", "0.0000123456789", metadata={"execution_id": "E-9", "nested": {"a": [1, 2]}}),
        cost("Latency", 10, task_id="T-2", agent_iteration=..., metadata=None, timestamp="2026-01-05T23:30:00-02:00"),
        cost("Latency", 10, task_id="T-2", agent_iteration=..., metadata=None, timestamp="2026-01-05T23:30:00-02:00"),
        task("T-1", created_at="2026-01-05T09:00:00Z", status="in_progress", components_affected=["a", "b"]),
        task("T-1", completed_at="2026-01-05T12:00:00Z", status="completed", human_reviewed=True,
             defect_density="0.5", semantic_units_json=[{"unit_id": "SU-1"}]),
        task("T-1", status="in_progress", task_description="a later, stale status"),
        defect("D-1", created_at="2026-01-05T10:00:00Z"),
        defect("D-1", created_at="2026-01-06T10:00:00Z", resolved_at="2026-01-07T10:00:00Z", root_cause="x",
               false_positive=True),
        bootstrap(), bootstrap(primary_metric_value="18.23456"),
        "not json at all",
        '{"record": "task_metadata"}',
        json.dumps(cost("Bogus_Metric")),
        json.dumps(cost(value=-1)),
        json.dumps(task("T-9", note="\u0000")),
        json.dumps(defect("D-2", phase_removed="Code")),
        '{"record": "agent_cost_vector", "task_id": "T-1", "agent_role": "Code", "metric_type": "Latency",'
        ' "metric_value": 1, "timestamp": "2026-13-45T00:00:00Z"}',
        b"\xff\xfe not utf-8".decode("latin-1"),
    ])
    tasks_csv = directory / "tasks.csv"
    tasks_csv.write_text(
        "task_id,created_at,status,estimated_complexity,components_affected,human_reviewed\n"
        'C-1,2026-01-05T08:00:00Z,pending,18,"[""src/a.py""]",true\n'
        "C-2,2026-01-05T08:00:00Z,done,,,\n"
        "C-3,2026-01-05T08:00:00Z,,x,,\n",
        encoding="utf-8",
    )
    traces = directory / "traces.json"
    traces.write_text(json.dumps(traces_page()))
    page = directory / "observations.json"
    page.write_text(json.dumps({"data": observations(), "meta": {**META, "totalItems": 8}}))
    otlp = directory / "spans.jsonl"
    otlp.write_text(json.dumps(collector_json(_pipeline().finished())) + "\n{\"resourceSpans\": [\n")
    return ([(path, {}) for path in generated] + [(native, {}), (tasks_csv, {"table": "task_metadata"}),
                                                 (traces, {}), (page, {}), (otlp, {"format": "otlp"})])


@pytest.fixture(scope="module")
def loaded(make_database, tmp_path_factory):
    """The same inputs loaded into PostgreSQL and into a lake."""
    base = tmp_path_factory.mktemp("lake-vs-postgres")
    inputs = _inputs(base / "in")
    info = make_database("asp_lake")
    directory = base / "lake"
    summaries = []
    for path, options in inputs:
        [on_postgres] = loading.load_paths(info, [path], batch_rows=7, **options)
        [on_lake] = lake.load_paths(directory, [path], batch_rows=7, **options)
        summaries.append((on_postgres, on_lake))
    return info, directory, summaries


def _postgres_state(info, table: str) -> dict:
    load = TABLE_LOADS[table]
    names = [c.name for c in load.columns]
    key = "record_key::text" if load.record_key else load.key
    selected = ", ".join(f'"{name}"' for name in names)
    return {row[0]: dict(zip(names, row[1:])) for row in query(info, f"select {key}, {selected} from raw.{table}")}


def test_each_file_reads_and_rejects_the_same_records(loaded):
    _, _, summaries = loaded
    for on_postgres, on_lake in summaries:
        assert (on_lake.status, on_lake.format) == (on_postgres.status, on_postgres.format), on_lake.source
        assert (on_lake.read, on_lake.rejected) == (on_postgres.read, on_postgres.rejected), on_lake.source
        # appended, not merged: every record PostgreSQL loaded, updated or skipped is in the lake
        assert on_lake.loaded + on_lake.duplicates == on_lake.read - on_lake.rejected
    assert sum(lake_summary.rejected for _, lake_summary in summaries) >= 10


@pytest.mark.parametrize("table", TABLES)
def test_the_lake_holds_what_postgresql_stores(loaded, table):
    info, directory, _ = loaded
    expected = _postgres_state(info, table)
    found = lake_state(directory, table)
    assert set(found) == {str(key) for key in expected} if TABLE_LOADS[table].record_key else set(expected)
    assert found == {str(key): value for key, value in expected.items()}
    assert len(found) > 0


@pytest.mark.parametrize("table", TABLES)
def test_columns_and_types_are_the_contracts(loaded, table):
    info, directory, _ = loaded
    catalogue = [name for (name,) in query(
        info, "select column_name from information_schema.columns where table_schema = 'raw' and table_name = %s"
        " and column_name <> 'id' order by ordinal_position", table)]
    schema = dataset(directory, table).schema
    assert schema.remove(schema.get_field_index("record_date")) == RAW_SCHEMAS[table]
    assert set(RAW_SCHEMAS[table].names) == set(catalogue) | set(LINEAGE) | (
        {"updated_at"} if TABLE_LOADS[table].merge else set())
    for path in (directory / table).rglob("*.parquet"):
        assert path.parent.name.startswith("record_date=")
        assert pq.read_schema(path).equals(RAW_SCHEMAS[table], check_metadata=False)


def test_partitions_are_the_utc_day_of_each_records_own_time(loaded):
    _, directory, _ = loaded
    for row in rows(directory, "agent_cost_vector"):
        assert row["record_date"] == row["timestamp"].date().isoformat() == row["execution_date"].isoformat()
    for row in rows(directory, "task_metadata"):
        day = (row["created_at"] or row["loaded_at"]).date().isoformat()
        assert row["record_date"] == day


def test_rejects_are_postgresqls_byte_for_byte(loaded):
    info, directory, _ = loaded
    columns = "source, position, line_number, record_type, reason, original_text, original_bytes, reject_key::text"
    expected = sorted(query(info, f"select {columns} from raw.rejected_records"))
    found = sorted(
        (r["source"], r["position"], r["line_number"], r["record_type"], r["reason"], r["original_text"],
         r["original_bytes"], r["reject_key"])
        for r in rows(directory, "rejected_records")
    )
    assert found == [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in expected]
    assert dataset(directory, "rejected_records").schema.remove(
        dataset(directory, "rejected_records").schema.get_field_index("record_date")) == REJECTS_SCHEMA


def test_a_second_load_appends_and_the_ledger_records_both(tmp_path):
    path = jsonl(tmp_path / "day.jsonl", [cost(), cost("Tokens_In", 5), task("T-1"), "broken"])
    directory = tmp_path / "lake"
    [first] = lake.load_paths(directory, [path])
    [second] = lake.load_paths(directory, [path])
    assert (first.loaded, first.rejected) == (second.loaded, second.rejected) == (3, 1)
    costs = rows(directory, "agent_cost_vector")
    assert len(costs) == 4 and len({row["record_key"] for row in costs}) == 2  # staging counts each once
    assert [row["load_id"] for row in costs] == sorted(row["load_id"] for row in costs)
    assert len(lake_state(directory, "agent_cost_vector")) == 2
    ledger = rows(directory, "loads")
    assert sorted(row["load_id"] for row in ledger) == sorted([first.load_id, second.load_id])
    assert {(row["status"], row["records_read"], row["loaded"], row["rejected"], row["content_sha256"])
            for row in ledger} == {("complete", 4, 3, 1, first.content_sha256)}
    assert len(rows(directory, "rejected_records")) == 2  # one per load (reject_key dedups them, as staging would)


def test_strict_shows_nothing_of_a_file_with_a_reject_but_its_rejects(tmp_path):
    directory = tmp_path / "lake"
    path = jsonl(tmp_path / "day.jsonl", [cost(), task("T-1"), "broken", cost("Tokens_In", 5)])
    [summary] = lake.load_paths(directory, [path], strict=True, batch_rows=1)
    assert summary.status == "rolled_back"
    assert not list(directory.glob("agent_cost_vector/**/*.parquet"))
    assert not list(directory.glob("task_metadata/**/*.parquet"))
    assert not list(directory.rglob(".part-*"))  # nothing hidden left behind
    assert [row["reason"][:15] for row in rows(directory, "rejected_records")] == ["not valid JSON "]
    assert [row["status"] for row in rows(directory, "loads")] == ["rolled_back"]
    [clean] = lake.load_paths(directory, [jsonl(tmp_path / "ok.jsonl", [cost()])], strict=True)
    assert (clean.status, len(rows(directory, "agent_cost_vector"))) == ("complete", 1)


def test_an_unreadable_inbox_file_is_quarantined_and_the_others_load(tmp_path, monkeypatch):
    box = tmp_path / "inbox"
    box.mkdir()
    directory = tmp_path / "lake"
    monkeypatch.setenv("ASP_INBOX", str(box))
    (box / "broken.jsonl.gz").write_bytes(b"\x1f\x8b not really gzip")
    jsonl(box / "good.jsonl", [cost()])
    result = inbox.ingest(directory, box, time_limit_s=None)
    outcomes = {f.name: f.outcome for f in result.files}
    assert outcomes == {"broken.jsonl.gz": "quarantined", "good.jsonl": "archived"}
    assert (box / "quarantine" / "broken.jsonl.gz.reason.txt").exists()
    assert len(rows(directory, "agent_cost_vector")) == 1
    assert {row["status"] for row in rows(directory, "loads")} == {"failed", "complete"}


def test_no_half_file_is_visible_after_the_loader_is_killed_mid_write(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("w") as handle:
        for n in range(60_000):
            handle.write(json.dumps(cost("Latency", n + 1, task_id=f"T-{n}", metadata={"execution_id": f"E-{n}"})))
            handle.write("\n")
    directory = tmp_path / "lake"
    env = {**os.environ, "ASP_LAKE": str(directory)}
    process = subprocess.Popen([*CLI, "load", "--target", "spark", "--batch-rows", "500", str(path)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Killed once some batches are visible: the writer is then between two batches or in one.
        while process.poll() is None and len(list(directory.glob("agent_cost_vector/*/part-*"))) < 5:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    visible = list(directory.glob("agent_cost_vector/*/part-*.parquet"))
    assert visible
    for part in visible:  # every visible file is whole: its footer and every row read back
        table = pq.read_table(part)
        assert table.schema.equals(RAW_SCHEMAS["agent_cost_vector"], check_metadata=False)
        assert table.num_rows > 0 and table.column("metric_value").null_count == 0
    assert dataset(directory, "agent_cost_vector").count_rows() == sum(pq.read_metadata(p).num_rows for p in visible)
    # loading it again completes it: staging counts each identity once
    [again] = lake.load_paths(directory, [path])
    assert again.status == "complete"
    assert len(lake_state(directory, "agent_cost_vector")) == 60_000


def test_a_load_deletes_the_hidden_files_that_loads_abandoned_over_a_day_ago(tmp_path):
    from datetime import UTC, datetime, timedelta

    from asp_telemetry.lake import paths as lake_paths

    directory = tmp_path / "lake"
    day = directory / "agent_cost_vector" / "record_date=2026-11-01"
    day.mkdir(parents=True)
    old_id = lake_paths.new_load_id(datetime.now(UTC) - timedelta(days=2))
    recent_id = lake_paths.new_load_id(datetime.now(UTC) - timedelta(hours=1))
    abandoned = day / f".{lake_paths.part_name(old_id, 0)}"
    running = day / f".{lake_paths.part_name(recent_id, 0)}"  # a load still writing, perhaps
    committed = day / lake_paths.part_name(old_id, 1)
    not_ours = day / ".part-notes.parquet"
    pq.write_table(pa.Table.from_pylist([], schema=RAW_SCHEMAS["agent_cost_vector"]), committed)
    for path in (abandoned, running, not_ours):
        path.write_bytes(b"half a file")
    [summary] = lake.load_paths(directory, [jsonl(tmp_path / "day.jsonl", [cost()])])
    assert summary.status == "complete"
    assert not abandoned.exists()
    assert running.exists() and committed.exists() and not_ours.exists()


def test_load_target_spark_from_the_command_line(tmp_path):
    path = jsonl(tmp_path / "day.jsonl", [cost(), "broken"])
    env = {**os.environ, "ASP_LAKE": str(tmp_path / "lake"), "ASP_TARGET": "spark"}
    result = subprocess.run([*CLI, "load", str(path)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "1 loaded" in result.stdout and "rejected_records dataset" in result.stdout
    assert pa.Table.from_pylist(rows(tmp_path / "lake", "agent_cost_vector")).num_rows == 1


def test_the_ingest_flow_with_target_spark_loads_the_inbox_into_the_lake(prefect_server, tmp_path, monkeypatch):
    from asp_telemetry.flows.ingest import ingest

    box, directory = tmp_path / "inbox", tmp_path / "lake"
    box.mkdir()
    jsonl(box / "day.jsonl", [cost(), task("T-1"), "broken"])
    (box / "broken.jsonl.gz").write_bytes(b"\x1f\x8b this is not gzip")
    (box / "still-written.jsonl.tmp").write_text('{"record": "task_me')
    monkeypatch.setenv("ASP_INBOX", str(box))
    monkeypatch.setenv("ASP_LAKE", str(directory))
    monkeypatch.setenv("ASP_TARGET", "spark")  # the default target; no database is configured or needed
    result = ingest()
    assert sorted((f.name, f.outcome) for f in result.files) == [
        ("broken.jsonl.gz", "quarantined"), ("day.jsonl", "archived")]
    assert (result.loaded, result.rejected) == (2, 1)
    assert len(rows(directory, "agent_cost_vector")) == len(rows(directory, "task_metadata")) == 1
    assert (box / "still-written.jsonl.tmp").exists()


def test_a_lake_that_cannot_be_written_fails_the_load_and_the_inbox_keeps_the_file(tmp_path):
    from asp_telemetry.lake.files import LakeWriteError

    box, directory = tmp_path / "inbox", tmp_path / "lake"
    box.mkdir()
    directory.mkdir()
    (directory / "agent_cost_vector").write_text("a file where the dataset's directory should be")
    path = jsonl(box / "day.jsonl", [cost(), task("T-1")])
    [summary] = lake.load_paths(directory, [path])
    assert (summary.status, summary.retryable) == ("interrupted", True)
    assert "the lake could not be written" in summary.error and "agent_cost_vector" in summary.error
    assert not list(directory.rglob(".part-*"))
    with pytest.raises(LakeWriteError, match="stays in the inbox"):
        inbox.ingest_file(directory, path, retry_delays_s=(0,))
    assert path.exists() and not (box / "quarantine").exists()
