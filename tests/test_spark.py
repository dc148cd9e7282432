"""The Spark target (docs/spark.md): the same dbt project built on an in-process Spark over
a Parquet lake gives the same marts as on PostgreSQL.

One scenario, built once for the module (Spark is slow to start and every dbt statement is
a Spark job): the same generated files are loaded into PostgreSQL (the loader) and written to
a lake (`asp-telemetry load --target spark`'s library function, asp_telemetry.lake); both
engines
build; then the same files are loaded a second time, with a file of task updates, and both
build again. Every mart Spark builds is compared with PostgreSQL's row by row and column by
column, numbers to 1e-9 relative (JSON columns parsed, their numbers alike); so are the price
rows the Spark build's price step wrote to the lake (asp_telemetry.lake.session_prices) and
those PostgreSQL's price step resolved. mart_bootstrap_status (the recorded snapshots) is
compared in test_spark_pipeline.py.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, date, datetime
from datetime import time as dt_time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from lake_support import rows

from asp_telemetry import build, connection, generate
from asp_telemetry import lake as lake_writer
from asp_telemetry.lake import session as lake_session
from asp_telemetry.loading import load_paths
from asp_telemetry.pricing import PriceRow

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PROJECT = Path(__file__).resolve().parents[1]
AS_OF = "2026-03-01T00:00:00+00:00"
END = datetime(2026, 2, 20, tzinfo=UTC)
# The bootstrap snapshot's period ends here on both engines (by default it ends at the build).
PERIOD_END = "2026-02-21T00:00:00+00:00"
# Each mart Spark builds, and the columns that identify a row.
MARTS = {
    "fct_agent_executions": ["execution_key"],
    "fct_daily_role_costs": ["daily_role_cost_key"],
    "fct_task_costs": ["task_id"],
    "mart_cost_by_agent_role": ["agent_role"],
    "mart_cost_by_model": ["model_cost_key"],
    "fct_defects": ["defect_id"],
    "mart_defect_density_by_component": ["component_path"],
    "mart_defect_injection_removal": ["phase_injected", "phase_removed"],
    "mart_phase_yield": ["phase"],
    "mart_process_yield": [],
    "mart_review_effectiveness": ["review_phase"],
    "mart_cost_of_quality": ["project_id"],
    "mart_cost_of_quality_weekly": ["project_id", "week_start"],
    "mart_phase_quality": ["phase"],
    "mart_probe_dataset": ["task_id"],
    "mart_probe_fits": ["target", "task_type", "project_id"],
    "mart_probe_model": ["target"],
    "mart_bootstrap_snapshot": ["capability_name"],
}
# The marts the second load changes (task and defect updates): the test proves nothing if
# they stay the same.
CHANGED_BY_UPDATES = {
    "fct_task_costs", "fct_defects", "mart_review_effectiveness", "mart_probe_dataset",
    "fct_agent_executions", "fct_daily_role_costs",
}
# The marts compared elsewhere too (test_spark_pipeline.py), with their keys.
KEYS = {**MARTS, "mart_bootstrap_status": ["capability_name"]}
# When each engine loaded the rows: not the same instant on two engines.
LOAD_TIMES = {"last_loaded_at", "source_changed_at"}
# jsonb on PostgreSQL, JSON text on Spark
JSON_COLUMNS = {"secondary_metrics_json"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, Decimal):
        return float(value)
    return value


def _cell(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS and isinstance(value, str):
        return json.loads(value)
    return _plain(value)


def read_postgres(info, mart: str) -> dict[tuple, dict]:
    with connection.connect(info) as conn:
        cursor = conn.execute(f"select * from marts.{mart}")  # a fixed name from KEYS
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    return {tuple(row[key] for key in KEYS[mart]): {k: _cell(k, v) for k, v in row.items()} for row in rows}


def read_spark(spark, mart: str) -> dict[tuple, dict]:
    rows = [row.asDict() for row in spark.sql(f"select * from marts.{mart}").collect()]
    return {tuple(row[key] for key in KEYS[mart]): {k: _cell(k, v) for k, v in row.items()} for row in rows}


def same(value: Any, other: Any) -> bool:
    """Equal, numbers to 1e-9 relative (in JSON objects too)."""
    if isinstance(value, dict) and isinstance(other, dict):
        return value.keys() == other.keys() and all(same(value[key], other[key]) for key in value)
    numbers = (int, float, Decimal)
    if (isinstance(value, float) or isinstance(other, float)) and not isinstance(value, bool) \
            and not isinstance(other, bool) and isinstance(value, numbers) and isinstance(other, numbers):
        return math.isclose(float(value), float(other), rel_tol=1e-9, abs_tol=1e-12)
    return value == other


def differences(mart: str, postgres: dict[tuple, dict], spark: dict[tuple, dict],
                ignored: frozenset[str] = frozenset()) -> list[str]:
    """What differs, one line per cell (at most 20), leaving out the `ignored` columns."""
    found = []
    for key in sorted(set(postgres) ^ set(spark), key=str):
        found.append(f"{mart} {key}: only on {'PostgreSQL' if key in postgres else 'Spark'}")
    for key in sorted(set(postgres) & set(spark), key=str):
        expected, actual = postgres[key], spark[key]
        if set(expected) != set(actual):
            found.append(f"{mart}: columns differ: {sorted(set(expected) ^ set(actual))}")
            break
        for column, value in expected.items():
            if column in LOAD_TIMES or column in ignored:
                continue
            other = actual[column]
            if not same(value, other):
                found.append(f"{mart} {key} {column}: PostgreSQL {value!r}, Spark {other!r}")
    return found[:20]


def task_updates(path: Path, files: list[Path]) -> Path:
    """A file of new versions of some tasks (re-estimated, re-measured, reviewed) and of the
    defects a review agent flagged that wait for a human (now validated)."""
    tasks = []
    pending = []
    for file in files:
        for line in file.read_text().splitlines():
            record = json.loads(line)
            if record["record"] == "task_metadata" and record["task_id"] not in tasks:
                tasks.append(record["task_id"])
            if (record["record"] == "defect_log" and record["flagged_by_agent"]
                    and not record["validated_by_human"] and not record["false_positive"]):
                pending.append(record)
    assert pending, "no defect waits for validation: the defect updates would prove nothing"
    defect_lines = [
        json.dumps({**defect, "validated_by_human": True})
        for defect in pending
    ]
    lines = []
    for number, task_id in enumerate(tasks[::3]):
        lines.append(json.dumps({
            "record": "task_metadata", "task_id": task_id, "status": "completed",
            "actual_complexity": 10 + number, "human_reviewed": True,
            "estimated_cost_vector_json": {"latency_ms": 1000 + number, "tokens": 5000,
                                           "api_cost_usd": 0.25 + number / 100},
            "completed_at": "2026-02-19T12:00:00+00:00",
        }))
    path.write_text("\n".join(lines + defect_lines) + "\n")
    return path


# An execution alone on its day (LONE_DAY) that a late cost row, loaded with the updates,
# moves two days earlier: LONE_DAY loses every execution it had, and an increment that
# replaces date partitions must drop it.
LONE_DAY = "2026-02-10"


def lone_execution(path: Path, day: str, metric_type: str) -> Path:
    path.write_text(json.dumps({
        "record": "agent_cost_vector", "timestamp": f"{day}T12:00:00+00:00", "task_id": "SYN-19-0000001",
        "subtask_id": None, "project_id": "Search", "agent_role": "Code", "agent_version": "v1.1.0",
        "agent_iteration": 9, "llm_model": "gemini-2.5-pro", "llm_provider": "google",
        "metadata": {"execution_id": "SYN-19-0000001-LONE"}, "metric_type": metric_type,
        "metric_value": 1000, "metric_unit": "ms" if metric_type == "Latency" else "tokens",
    }) + "\n")
    return path


def build_both(info, spark, *extra: str) -> dict[str, Any]:
    args = ["--vars", yaml.safe_dump({"as_of": AS_OF, "bootstrap_period_end": PERIOD_END}), *extra]
    postgres = build.run_build(info, args)
    assert postgres.success, postgres.summary_line()
    on_spark = build.run_build(None, args, target="spark")
    failing = [f"{node.label}: {node.message or node.failing_row_messages()}" for node in on_spark.failed_nodes]
    assert on_spark.success, (on_spark.error, on_spark.summary_line(), failing)
    return {
        "postgres": postgres,
        "spark": on_spark,
        "marts": {mart: (read_postgres(info, mart), read_spark(spark, mart)) for mart in MARTS},
    }


@pytest.fixture(scope="module")
def scenario(spark_session, make_database, tmp_path_factory):
    spark = spark_session
    for database in ("marts", "intermediate", "staging", "raw", "pricing"):
        spark.sql(f"drop database if exists {database} cascade")
    lake = tmp_path_factory.mktemp("lake")
    saved = os.environ.get("ASP_LAKE")
    os.environ["ASP_LAKE"] = str(lake)
    (lake_session.spark_dir() / "price_fingerprints.json").unlink(missing_ok=True)
    try:
        info = make_database("asp_spark")
        inbox = tmp_path_factory.mktemp("inbox")
        files = generate.generate(24, 19, inbox, days=5, end=END, workers=1).files
        files.append(lone_execution(inbox / "lone.jsonl", LONE_DAY, "Latency"))
        load_paths(info, files)
        assert all(s.status == "complete" for s in lake_writer.load_paths(lake, files))
        first = build_both(info, spark)
        updates = tmp_path_factory.mktemp("updates")
        updates = [task_updates(updates / "task-updates.jsonl", files),
                   lone_execution(updates / "earlier.jsonl", "2026-02-08", "Tokens_In")]
        load_paths(info, [*files, *updates])
        assert all(s.status == "complete" for s in lake_writer.load_paths(lake, [*files, *updates]))
        # the models only: the first build ran every test (on a busy 2-core machine a Spark
        # build takes minutes, most of it the tests)
        second = build_both(info, spark, "--exclude-resource-type", "test", "unit_test")
        yield {"first": first, "second": second, "spark": spark, "info": info, "lake": lake}
    finally:
        if saved is None:
            os.environ.pop("ASP_LAKE", None)
        else:
            os.environ["ASP_LAKE"] = saved


def test_spark_build_runs_contracts_data_tests_and_unit_tests(scenario):
    result = scenario["first"]["spark"]
    totals = result.totals()
    assert totals["model"].get("success", 0) >= 12, totals
    assert totals["test"].get("pass", 0) > 50, totals
    assert totals["unit_test"].get("pass", 0) >= 5, totals
    assert not result.failed_nodes
    # the marts are Parquet tables of database marts in the warehouse (marts.db/<model>/)
    warehouse = lake_session.spark_dir() / "warehouse" / "marts.db"
    for mart in MARTS:
        assert list((warehouse / mart).rglob("*.parquet")), mart


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_marts_are_the_same_on_both_engines(scenario, mart):
    postgres, spark = scenario["first"]["marts"][mart]
    assert postgres, f"{mart} is empty: the comparison would prove nothing"
    assert differences(mart, postgres, spark) == []


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_marts_stay_the_same_after_a_second_load_and_task_updates(scenario, mart):
    postgres, spark = scenario["second"]["marts"][mart]
    assert differences(mart, postgres, spark) == []
    if mart in CHANGED_BY_UPDATES:
        first, _ = scenario["first"]["marts"][mart]
        assert first != postgres, "the updates changed nothing: the test would prove nothing"


def test_the_compared_defect_quality_and_probe_marts_are_not_trivial(scenario):
    """The generated data has real defects, false positives, reviews and PROBE fits, so the
    comparison covers their formulas, not only empty or zero rows."""
    marts = {mart: postgres for mart, (postgres, _) in scenario["first"]["marts"].items()}
    defects = marts["fct_defects"].values()
    assert any(d["is_real"] for d in defects) and any(d["false_positive"] for d in defects)
    reviews = marts["mart_review_effectiveness"].values()
    assert sum(r["true_positives"] for r in reviews) > 0 and sum(r["false_positives"] for r in reviews) > 0
    assert sum(r["pending_validation"] for r in reviews) > 0 and sum(r["escapes"] for r in reviews) > 0
    assert any(r["phase_yield_pct"] is not None for r in marts["mart_phase_yield"].values())
    assert next(iter(marts["mart_process_yield"].values()))["process_yield_pct"] is not None
    assert any(r["defect_count"] > 0 for r in marts["mart_defect_density_by_component"].values())
    assert any(r["drl"] is not None for r in marts["mart_phase_quality"].values())
    quality = marts["mart_cost_of_quality"]
    assert quality[("(all)",)]["af_ratio"] is not None and len(quality) > 1
    assert len(marts["mart_cost_of_quality_weekly"]) > 1
    assert all(r["n"] > 2 and r["r_squared"] is not None for r in marts["mart_probe_model"].values())
    assert any(r["scope"] == "task_type and project_id" for r in marts["mart_probe_fits"].values())


def test_profile_and_session_settings_agree():
    """profiles.yml's spark target and asp_telemetry.lake.session start Spark alike."""
    profile = yaml.safe_load((PROJECT / "profiles.yml").read_text())["asp_telemetry"]["outputs"]["spark"]
    settings = lake_session.session_settings(Path("/x"))
    assert set(profile["server_side_parameters"]) == set(settings) - {"spark.sql.ansi.enabled"}


def test_a_day_that_loses_every_execution_leaves_the_daily_marts(scenario):
    """The increments on Spark replace date partitions: the day the lone execution left is
    gone there too (the comparison above holds the rest)."""
    lone_day = date.fromisoformat(LONE_DAY)
    for mart in ("fct_daily_role_costs", "fct_agent_executions"):
        _, first_spark = scenario["first"]["marts"][mart]
        assert any(row["execution_date"] == lone_day for row in first_spark.values()), mart
        for engine_rows in scenario["second"]["marts"][mart]:
            assert not any(row["execution_date"] == lone_day for row in engine_rows.values()), mart


def test_the_price_rows_are_those_postgresql_resolves(scenario):
    """The Spark build's price step (lake/session_prices.py) wrote the schedule PostgreSQL's
    price step (pricing.refresh) wrote into schema pricing, row for row; rewritten whole at
    each build (the scenario built twice)."""
    postgres, on_spark = scenario["second"]["postgres"].prices, scenario["second"]["spark"].prices
    assert on_spark.models_seen == postgres.models_seen > 0 and on_spark.priced == postgres.priced
    assert on_spark.unpriced == postgres.unpriced
    names = list(PriceRow.model_fields)
    with connection.connect(scenario["info"]) as conn:
        expected = [
            tuple(value.strftime("%H:%M:%S.%f") if isinstance(value, dt_time) else _plain(value) for value in row)
            for row in conn.execute(f"select {', '.join(names)} from pricing.model_prices").fetchall()
        ]
        unpriced = conn.execute("select count(*) from pricing.unpriced_models").fetchone()[0]
    found = [tuple(_plain(row[name]) for name in names) for row in rows(scenario["lake"], "model_prices")]
    assert sorted(found, key=repr) == sorted(expected, key=repr)
    assert len(rows(scenario["lake"], "unpriced_models")) == unpriced
