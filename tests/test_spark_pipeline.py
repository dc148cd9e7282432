"""`asp-telemetry run --target spark`: the pipeline on the Spark target, end to end through
Prefect: the inbox into the lake (the loader's own validation), the build on an in-process
Spark over it, and the snapshot step (skipped, said so, while the bootstrap marts are built
on PostgreSQL only: docs/spark.md)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from lake_support import rows
from load_support import jsonl

from asp_telemetry import generate

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_run_target_spark_ingests_the_inbox_into_the_lake_and_builds_on_spark(
        spark_session, prefect_server, tmp_path, monkeypatch):
    from asp_telemetry.flows.pipeline import pipeline

    spark = spark_session
    for database in ("marts", "intermediate", "staging", "raw", "pricing"):
        spark.sql(f"drop database if exists {database} cascade")
    box, lake = tmp_path / "inbox", tmp_path / "lake"
    generate.generate(12, 5, box, days=5, end=datetime(2026, 2, 20, tzinfo=UTC), workers=1)
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
    assert result.snapshot is None and result.bootstrap_build is None
    assert any("no bootstrap snapshot" in record.getMessage() for record in logged)
