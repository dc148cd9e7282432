"""`asp-telemetry run --target spark`: the pipeline on the Spark target, end to end through
Prefect: the inbox into the lake (the loader's own validation), the build on an in-process
Spark over it, the bootstrap snapshot recorded into the lake and mart_bootstrap_status
rebuilt. The same files on PostgreSQL, with its snapshot, give the same bootstrap marts; so
does a period snapshotted twice (the second replaces the first on both engines)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from lake_support import rows
from load_support import jsonl
from test_spark import differences, read_postgres, read_spark

from asp_telemetry import build, connection, generate, snapshot
from asp_telemetry.build_plan import WITHOUT_UNIT_TESTS
from asp_telemetry.loading import load_paths

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# the default snapshot period is the 14 days ending at the build: the tasks end an hour ago
END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
# differ between two engines: when each recorded its snapshot, and the raw row's id
RECORDING = frozenset({"measured_at", "bootstrap_metric_id"})
# the default period ends at each engine's own build
DEFAULT_PERIOD = frozenset({"measurement_period_start", "measurement_period_end"})


def _count(info, sql: str, *params) -> int:
    with connection.connect(info) as conn:
        return conn.execute(sql, params or None).fetchone()[0]


def test_run_target_spark_ingests_builds_and_snapshots_as_postgresql_does(
        spark_session, prefect_server, make_database, use_database, tmp_path, monkeypatch):
    from asp_telemetry.flows.bootstrap_snapshot import bootstrap_snapshot
    from asp_telemetry.flows.pipeline import pipeline

    spark = spark_session
    for database in ("marts", "intermediate", "staging", "raw", "pricing"):
        spark.sql(f"drop database if exists {database} cascade")
    box, lake, generated = tmp_path / "inbox", tmp_path / "lake", tmp_path / "generated"
    files = generate.generate(12, 5, generated, days=5, end=END, workers=1).files
    box.mkdir()
    for file in files:
        (box / file.name).write_bytes(file.read_bytes())
    jsonl(box / "with-a-reject.jsonl", ["not json"])
    (box / "broken.jsonl.gz").write_bytes(b"\x1f\x8b this is not gzip")
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
    assert not any("no bootstrap snapshot" in record.getMessage() for record in logged)

    # the same files on PostgreSQL, with its snapshot of its default period
    info = use_database(make_database("asp_spark_pipeline"))
    load_paths(info, files)
    assert build.run_build(info, list(WITHOUT_UNIT_TESTS)).success
    on_postgres = snapshot.take(info, period_built=True)
    assert build.run_build(info, ["--select", *snapshot.STATUS_MARTS, *WITHOUT_UNIT_TESTS]).success
    names = [c.capability_name for c in on_postgres.capabilities]
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
    period = "measurement_period_start = %s and measurement_period_end = %s"
    assert _count(info, f"select count(*) from raw.bootstrap_metrics where {period}", start, end) == capabilities
    lake_rows = [r for r in rows(lake, "bootstrap_metrics") if r["measurement_period_end"] == end]
    assert len(lake_rows) == 2 * capabilities  # the lake appends; the view shows the last snapshot
    shown = spark.sql(
        "select count(*), count(distinct measured_at) from raw.bootstrap_metrics "
        "where measurement_period_start = cast(:start as timestamp)"
        " and measurement_period_end = cast(:end as timestamp)",
        args={"start": start.isoformat(), "end": end.isoformat()},
    ).collect()[0]
    assert (shown[0], shown[1]) == (capabilities, 1)
    # the latest snapshot per capability: this period's, the same on both engines
    status = read_spark(spark, "mart_bootstrap_status")
    assert {row["measurement_period_end"] for row in status.values()} == {end.replace(tzinfo=None)}
    assert differences("mart_bootstrap_status", read_postgres(info, "mart_bootstrap_status"), status,
                       RECORDING) == []
    assert _count(info, "select count(*) from marts.mart_bootstrap_status") == len(status)
