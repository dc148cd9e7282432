"""`asp-telemetry run --target spark`: the pipeline on the Spark target, end to end through
Prefect: the inbox into the lake (the loader's own validation), the build on an in-process
Spark over it, the bootstrap snapshot recorded into the lake and mart_bootstrap_status
rebuilt. The same files on PostgreSQL, with its snapshot, give the same bootstrap marts; so
does a period snapshotted twice (the second replaces the first on both engines), by the flow
or by `asp-telemetry snapshot`, and a period snapshotted again once its tasks have left it
(the second snapshot has no rows and hides the first on both engines).

The pipeline runs once for the module (`ran`); the tests after it each snapshot a period of
their own on both engines, in file order, the last one moving tasks out of its period."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lake_support import rows
from load_support import jsonl
from support import point_environment_at
from test_spark import differences, read_postgres, read_spark
from typer.testing import CliRunner

from asp_telemetry import build, connection, generate, snapshot
from asp_telemetry import lake as lake_writer
from asp_telemetry.build_plan import WITHOUT_UNIT_TESTS
from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.lake.snapshot import SNAPSHOTS
from asp_telemetry.loading import load_paths
from asp_telemetry.snapshot import SnapshotResult

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# the default snapshot period is the 14 days ending at the build: the tasks end an hour ago
END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
# differ between two engines: when each recorded its snapshot, and the raw row's id
RECORDING = frozenset({"measured_at", "bootstrap_metric_id"})
# the default period ends at each engine's own build
DEFAULT_PERIOD = frozenset({"measurement_period_start", "measurement_period_end"})
PERIOD = "measurement_period_start = %s and measurement_period_end = %s"


def _count(info, sql: str, *params) -> int:
    with connection.connect(info) as conn:
        return conn.execute(sql, params or None).fetchone()[0]


def _shown_on_spark(spark, start: datetime, end: datetime) -> tuple[int, int]:
    """The rows raw.bootstrap_metrics shows for the period on Spark, and their measured_at."""
    shown = spark.sql(
        "select count(*), count(distinct measured_at) from raw.bootstrap_metrics "
        "where measurement_period_start = cast(:start as timestamp)"
        " and measurement_period_end = cast(:end as timestamp)",
        args={"start": start.isoformat(), "end": end.isoformat()},
    ).collect()[0]
    return shown[0], shown[1]


def _of_period(lake: Path, dataset: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    return [row for row in rows(lake, dataset)
            if (row["measurement_period_start"], row["measurement_period_end"]) == (start, end)]


@dataclass
class Ran:
    spark: Any
    lake: Path
    info: ConnectionInfo
    result: Any
    logged: list[logging.LogRecord]
    on_postgres: SnapshotResult


@pytest.fixture(scope="module")
def ran(spark_session, prefect_server, make_database, tmp_path_factory) -> Iterator[Ran]:
    """`run --target spark` over a generated inbox, then the same files on PostgreSQL, built
    and snapshotted for its default period; the environment points at both (the lake, the
    database) for the module's tests."""
    from asp_telemetry.flows.pipeline import pipeline

    spark = spark_session
    for database in ("marts", "intermediate", "staging", "raw", "pricing"):
        spark.sql(f"drop database if exists {database} cascade")
    tmp_path = tmp_path_factory.mktemp("spark-pipeline")
    box, lake, generated = tmp_path / "inbox", tmp_path / "lake", tmp_path / "generated"
    files = generate.generate(12, 5, generated, days=5, end=END, workers=1).files
    box.mkdir()
    for file in files:
        (box / file.name).write_bytes(file.read_bytes())
    jsonl(box / "with-a-reject.jsonl", ["not json"])
    (box / "broken.jsonl.gz").write_bytes(b"\x1f\x8b this is not gzip")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("ASP_INBOX", str(box))
        monkeypatch.setenv("ASP_LAKE", str(lake))
        monkeypatch.setenv("ASP_TARGET", "spark")  # no --target: the environment's
        logged: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = logged.append
        logging.getLogger("prefect.flow_runs").addHandler(handler)
        try:
            result = pipeline()
        finally:
            logging.getLogger("prefect.flow_runs").removeHandler(handler)

        # the same files on PostgreSQL, with its snapshot of its default period
        info = make_database("asp_spark_pipeline")
        point_environment_at(monkeypatch, info)
        load_paths(info, files)
        assert build.run_build(info, list(WITHOUT_UNIT_TESTS)).success
        on_postgres = snapshot.take(info, period_built=True)
        assert build.run_build(info, ["--select", *snapshot.STATUS_MARTS, *WITHOUT_UNIT_TESTS]).success
        yield Ran(spark=spark, lake=lake, info=info, result=result, logged=logged, on_postgres=on_postgres)


def _same_status(ran: Ran) -> dict[tuple, dict]:
    """mart_bootstrap_status on Spark, once checked equal to PostgreSQL's."""
    status = read_spark(ran.spark, "mart_bootstrap_status")
    assert status, "mart_bootstrap_status is empty: the comparison would prove nothing"
    assert differences("mart_bootstrap_status", read_postgres(ran.info, "mart_bootstrap_status"), status,
                       RECORDING) == []
    return status


def test_run_target_spark_ingests_builds_and_snapshots_as_postgresql_does(ran):
    from asp_telemetry.flows.bootstrap_snapshot import bootstrap_snapshot

    spark, lake, info, result, logged = ran.spark, ran.lake, ran.info, ran.result, ran.logged
    assert result.target == "spark" and result.write_back is None
    outcomes = sorted((f.name, f.outcome) for f in result.ingest.files)
    assert outcomes[0] == ("broken.jsonl.gz", "quarantined") and {o for _, o in outcomes[1:]} == {"archived"}
    assert result.ingest.rejected == 1 and result.ingest.loaded > 0
    written = sum(len(rows(lake, table)) for table in ("agent_cost_vector", "task_metadata", "defect_log"))
    assert written == result.ingest.loaded
    assert result.build.success, result.build.summary_line()
    assert spark.sql("select count(*) from marts.fct_task_costs").collect()[0][0] == 12
    # the price step wrote the lake's prices before the build
    assert (lake / "model_prices").is_dir()
    # the snapshot: the build's mart_bootstrap_snapshot recorded into the lake, its mart rebuilt
    taken = result.snapshot
    assert taken is not None and taken.capabilities and taken.replaced_rows == 0
    assert result.bootstrap_build is not None and result.bootstrap_build.success
    assert len(rows(lake, "bootstrap_metrics")) == len(taken.capabilities)
    assert len(rows(lake, SNAPSHOTS)) == 1  # and the snapshot's own row
    assert not any("no bootstrap snapshot" in record.getMessage() for record in logged)

    names = [c.capability_name for c in ran.on_postgres.capabilities]
    assert names == [c.capability_name for c in taken.capabilities]
    for mart, ignored in (("mart_bootstrap_snapshot", DEFAULT_PERIOD),
                          ("mart_bootstrap_status", DEFAULT_PERIOD | RECORDING)):
        postgres = read_postgres(info, mart)
        assert postgres, f"{mart} is empty: the comparison would prove nothing"
        assert differences(mart, postgres, read_spark(spark, mart), ignored) == []

    # a period snapshotted twice: the second replaces the first, on both engines
    start, end = END - timedelta(days=6), END
    taken_twice = [bootstrap_snapshot(start, end, target="spark") for _ in range(2)]
    on_postgres_twice = [bootstrap_snapshot(start, end, target="postgres") for _ in range(2)]
    capabilities = len(taken_twice[0].capabilities)
    assert capabilities and taken_twice[1].replaced_rows == on_postgres_twice[1].replaced_rows == capabilities
    assert {tuple(c.capability_name for c in r.capabilities) for r in taken_twice + on_postgres_twice} == {
        tuple(c.capability_name for c in taken_twice[0].capabilities)}
    assert _count(info, f"select count(*) from raw.bootstrap_metrics where {PERIOD}", start, end) == capabilities
    # the lake appends; the view shows the last snapshot
    assert len(_of_period(lake, "bootstrap_metrics", start, end)) == 2 * capabilities
    assert _shown_on_spark(spark, start, end) == (capabilities, 1)
    # the latest snapshot per capability: this period's, the same on both engines
    status = _same_status(ran)
    assert {row["measurement_period_end"] for row in status.values()} == {end.replace(tzinfo=None)}
    assert _count(info, "select count(*) from marts.mart_bootstrap_status") == len(status)


def _snapshot_command(*args: str) -> str:
    """`asp-telemetry snapshot ARGS` in this process (Spark's session is this process's), its
    output with whitespace collapsed (the console wraps long lines)."""
    from asp_telemetry.cli import _load

    result = CliRunner().invoke(_load(), ["snapshot", *args])
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())


def test_snapshot_command_target_spark_records_into_the_lake_and_prints_what_postgresql_prints(ran):
    spark, lake, info = ran.spark, ran.lake, ran.info
    start, end = END - timedelta(days=5), END - timedelta(hours=1)
    period = ["--start", f"{start:%Y-%m-%dT%H:%M:%S}", "--end", f"{end:%Y-%m-%dT%H:%M:%S}"]  # UTC, no offset
    said = {target: [_snapshot_command(*period, "--target", target) for _ in range(2)]
            for target in ("spark", "postgres")}

    recorded = _of_period(lake, "bootstrap_metrics", start, end)  # in load order
    capabilities = len(recorded) // 2
    first, second = recorded[:capabilities], recorded[capabilities:]
    assert capabilities and len(second) == capabilities  # appended twice, shown once
    assert len({row["load_id"] for row in first}) == len({row["load_id"] for row in second}) == 1
    assert first[0]["load_id"] < second[0]["load_id"]
    names = sorted(row["capability_name"] for row in first)
    assert names == sorted(row["capability_name"] for row in second) and len(set(names)) == capabilities
    assert {json.loads(row["metadata"])["source"] for row in recorded} == {snapshot.SOURCE}
    # one row per snapshot taken, with the load of its rows
    taken = _of_period(lake, SNAPSHOTS, start, end)
    assert sorted(row["load_id"] for row in taken) == sorted({row["load_id"] for row in recorded})
    assert sorted(row["measured_at"] for row in taken) == sorted({row["measured_at"] for row in recorded})
    assert _shown_on_spark(spark, start, end) == (capabilities, 1)
    assert _count(info, f"select count(*) from raw.bootstrap_metrics where {PERIOD}", start, end) == capabilities

    header = f"snapshot {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC: {capabilities} capabilities"
    assert said["spark"][0].startswith(header + " ")
    assert said["spark"][1].startswith(f"{header} (replaced {capabilities} earlier rows of this period) ")
    for row in second:
        assert f" {row['capability_name']}: {' '.join(row['graduation_notes'].split())}" in said["spark"][1]
    assert said["spark"] == said["postgres"]
    # the command rebuilt mart_bootstrap_status from the snapshot it recorded, as on PostgreSQL
    status = _same_status(ran)
    assert {(status[(row["capability_name"],)]["measurement_period_start"],
             status[(row["capability_name"],)]["measurement_period_end"]) for row in recorded} == {
        (start.replace(tzinfo=None), end.replace(tzinfo=None))}


def test_a_period_snapshotted_again_without_rows_shows_none_on_both_engines(ran, tmp_path):
    from asp_telemetry.flows.bootstrap_snapshot import bootstrap_snapshot

    spark, lake, info = ran.spark, ran.lake, ran.info
    start, end = END - timedelta(days=4), END - timedelta(hours=2)
    first = {target: bootstrap_snapshot(start, end, target=target) for target in ("spark", "postgres")}
    capabilities = len(first["spark"].capabilities)
    assert capabilities and len(first["postgres"].capabilities) == capabilities

    # the period's tasks complete later (a task keeps its latest completed_at): none is left in it
    with connection.connect(info) as conn:
        moved = [row[0] for row in conn.execute(
            "select task_id from staging.stg_asp__task_metadata where period_at >= %s and period_at < %s",
            (start, end)).fetchall()]
    assert moved
    later = (END + timedelta(days=400)).isoformat()
    updates = jsonl(tmp_path / "completed-later.jsonl",
                    [{"record": "task_metadata", "task_id": task_id, "completed_at": later} for task_id in moved])
    load_paths(info, [updates])
    assert all(summary.status == "complete" for summary in lake_writer.load_paths(lake, [updates]))

    again = {target: bootstrap_snapshot(start, end, target=target) for target in ("spark", "postgres")}
    assert again["spark"].capabilities == again["postgres"].capabilities == []
    assert again["spark"].replaced_rows == again["postgres"].replaced_rows == capabilities
    assert _count(info, f"select count(*) from raw.bootstrap_metrics where {PERIOD}", start, end) == 0
    # the lake keeps the first snapshot's rows; its row of the second hides them
    assert len(_of_period(lake, "bootstrap_metrics", start, end)) == capabilities
    assert len(_of_period(lake, SNAPSHOTS, start, end)) == 2
    assert _shown_on_spark(spark, start, end) == (0, 0)
    assert read_spark(spark, "mart_bootstrap_snapshot") == read_postgres(info, "mart_bootstrap_snapshot") == {}
    status = _same_status(ran)
    assert (start.replace(tzinfo=None), end.replace(tzinfo=None)) not in {
        (row["measurement_period_start"], row["measurement_period_end"]) for row in status.values()}
    # a third snapshot, as empty, replaces nothing on either engine
    assert [bootstrap_snapshot(start, end, target=target).replaced_rows for target in ("spark", "postgres")] == [0, 0]
