"""Planned builds (build_plan.py, migration 0010): a build selects what is downstream of the
raw tables that changed since the last one, runs nothing when none did, builds everything when
the project changed, and gives the same marts as a full refresh."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from support import PROJECT_DIR

from asp_telemetry import build, build_plan, connection, generate, loading, write_back
from asp_telemetry.connection import ConnectionInfo

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
COMPARED_MARTS = ("fct_task_costs", "fct_agent_executions", "fct_defects", "mart_phase_yield",
                  "mart_cost_by_agent_role", "fct_daily_role_costs")


def _rows(info: ConnectionInfo, query: str) -> list[tuple]:
    with connection.connect(info) as conn:
        return conn.execute(query).fetchall()


def _marts(info: ConnectionInfo) -> dict[str, list[tuple]]:
    """The compared marts' rows, but for the build time (as_of and the window it ends)."""
    marts = {}
    for mart in COMPARED_MARTS:
        columns = [name for (name,) in _rows(info, "select column_name from information_schema.columns"
                                                   f" where table_schema = 'marts' and table_name = '{mart}'"
                                                   " order by ordinal_position")
                   if name not in {"as_of", "window_start"}]
        marts[mart] = sorted(_rows(info, f"select {', '.join(columns)} from marts.{mart}"), key=repr)
    return marts


def _pending(info: ConnectionInfo) -> list[str]:
    return [table for (table,) in _rows(info, "select distinct table_name from raw.table_changes order by 1")]


def test_a_planned_build_follows_what_changed_and_equals_a_full_refresh(make_database, tmp_path):
    info = make_database("asp_planned")
    files = generate.generate(150, seed=5, out=tmp_path, end=END, tasks_per_file=50, workers=1).files
    loading.load_paths(info, files[:2])

    planned, first = build_plan.run_planned_build(info)
    assert planned.build_all and planned.reason == "no planned build yet: everything"
    assert first.success, first.summary_line()
    assert "unit_test" not in {node.resource_type for node in first.nodes}
    assert {"model", "test", "seed"} <= {node.resource_type for node in first.nodes}
    assert _pending(info) == []

    planned, nothing = build_plan.run_planned_build(info)
    assert planned.skip and nothing.success and nothing.nodes == []
    assert nothing.summary_line() == "skipped: nothing changed since the last build"

    assert write_back.write_back(info).tasks_updated > 0
    assert build_plan.plan(info).skip, "the write-back's derived columns are read by no model"

    loading.load_paths(info, files[2:])
    planned = build_plan.plan(info)
    assert not planned.build_all
    assert planned.changed_tables == ["agent_cost_vector", "defect_log", "task_metadata"]
    planned, changed = build_plan.run_planned_build(info)
    assert changed.success, changed.summary_line()
    assert "mart_bootstrap_status" not in {node.name for node in changed.nodes}
    assert {"fct_task_costs", "mart_cost_by_agent_role"} <= {node.name for node in changed.nodes}

    with connection.connect(info) as conn:
        conn.execute("update raw.defect_log set false_positive = not false_positive"
                     " where defect_id = (select min(defect_id) from raw.defect_log)")
    assert build_plan.plan(info).changed_tables == ["defect_log"]
    with connection.connect(info) as conn:
        conn.execute("update raw.defect_log set false_positive = not false_positive"
                     " where defect_id = (select min(defect_id) from raw.defect_log)")
    assert build_plan.run_planned_build(info)[1].success
    incremental = _marts(info)

    refreshed = build.run_build(info, ["--full-refresh", *build_plan.WITHOUT_UNIT_TESTS])
    assert refreshed.success, refreshed.summary_line()
    refreshed_marts = _marts(info)
    assert refreshed_marts == incremental
    assert all(rows for rows in incremental.values())


def test_a_change_committed_while_a_build_ran_is_left_for_the_next(db):
    planned = build_plan.plan(db)
    assert planned.build_all  # a new database: the migration noted every raw table as changed
    with connection.connect(db) as conn:
        conn.execute("insert into raw.agent_cost_vector (task_id, agent_role, metric_type, metric_value, metric_unit)"
                     " values ('T-LATE', 'Code', 'Latency', 5, 'ms')")
    build_plan.record(db, planned, datetime.now(UTC) - timedelta(seconds=1))
    later = build_plan.plan(db)
    assert not later.build_all and later.changed_tables == ["agent_cost_vector"]


def test_statements_that_change_nothing_note_nothing(db):
    build_plan.record(db, build_plan.plan(db), datetime.now(UTC))
    with connection.connect(db, autocommit=True) as conn:
        conn.execute("insert into raw.task_metadata (task_id) values ('T-1')")
        build_plan.record(db, build_plan.plan(db), datetime.now(UTC))
        conn.execute("update raw.task_metadata set status = status where task_id = 'NONE'")
        conn.execute("delete from raw.defect_log where defect_id = 'NONE'")
        conn.execute("update raw.task_metadata set defect_count = 4, defect_density = 1.2 where task_id = 'T-1'")
    assert _pending(db) == []
    with connection.connect(db) as conn:
        conn.execute("truncate raw.bootstrap_metrics")
    assert _pending(db) == ["bootstrap_metrics"]


def test_a_changed_project_is_built_whole(db, tmp_path):
    with connection.connect(db) as conn:
        conn.execute("delete from raw.table_changes")
        conn.execute("insert into raw.builds (project_digest, started_at, selection) values ('older', now(), 'all')")
    planned = build_plan.plan(db)
    assert planned.build_all and planned.reason == "the project changed since the last build: everything"
    assert planned.dbt_args() == list(build_plan.WITHOUT_UNIT_TESTS)

    copy = tmp_path / "project"
    for part in build_plan.PROJECT_PARTS:
        source = PROJECT_DIR / part
        if source.is_file():
            copy.mkdir(exist_ok=True)
            shutil.copy(source, copy / part)
        else:
            shutil.copytree(source, copy / part)
    assert build_plan.project_digest(copy) == build_plan.project_digest(PROJECT_DIR)
    model = copy / "models" / "marts" / "costs" / "fct_agent_executions.sql"
    model.write_text(model.read_text() + "\n")
    assert build_plan.project_digest(copy) != build_plan.project_digest(PROJECT_DIR)


@pytest.mark.parametrize("flag", [True, False])
def test_a_full_refresh_is_planned_as_everything(db, flag):
    build_plan.record(db, build_plan.plan(db), datetime.now(UTC))
    assert build_plan.plan(db, full_refresh=flag).build_all is flag


def test_on_a_new_day_the_windows_that_end_at_the_build_are_rebuilt(db):
    with connection.connect(db) as conn:
        conn.execute("delete from raw.table_changes")
        conn.execute("insert into raw.builds (project_digest, started_at, selection) values (%s, now(), 'all')",
                     [build_plan.project_digest()])
    assert build_plan.plan(db).skip
    with connection.connect(db) as conn:
        conn.execute("update raw.builds set started_at = now() - interval '1 day'")
    planned = build_plan.plan(db)
    assert not planned.skip and planned.new_day
    assert planned.dbt_args() == ["--select", build_plan.BUILD_TIME_MODELS, *build_plan.WITHOUT_UNIT_TESTS]


def test_raw_table_tests_of_a_planned_build_catch_a_row_changed_since(make_database, tmp_path):
    """The tests on task_metadata and defect_log read the rows inserted or updated since the
    last build (macro get_where_subquery): a defect updated to a phase no role has fails the
    next planned build, which names it, and only that row fails."""
    info = make_database("asp_planned_tests")
    files = generate.generate(30, seed=7, out=tmp_path, end=END, tasks_per_file=30, workers=1).files
    loading.load_paths(info, files)
    assert build_plan.run_planned_build(info)[1].success
    with connection.connect(info) as conn:
        conn.execute("update raw.defect_log set phase_injected = 'Coder'"
                     " where defect_id = (select min(defect_id) from raw.defect_log)")
    planned, result = build_plan.run_planned_build(info)
    assert planned.changed_tables == ["defect_log"] and not result.success
    [failed] = result.failed_nodes
    assert failed.label == "known_values(phase_injected) on asp.defect_log" and failed.failures == 1
    assert _pending(info) == ["defect_log"], "a failed build leaves the change for the next"
