"""Planned builds (build_plan.py, migrations 0010 and 0013): a build selects what is downstream
of the raw tables that changed since the last one, runs nothing when none did, builds everything
when the project changed (and in full what a changed seed feeds), and gives the same marts as a
full refresh."""

from __future__ import annotations

import itertools
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from psycopg.types.json import Jsonb
from support import PROJECT_DIR, cli_environment, run_cli

from asp_telemetry import build, build_plan, connection, generate, loading, scaffold, write_back
from asp_telemetry.connection import ConnectionInfo

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
COMPARED_MARTS = ("fct_task_costs", "fct_agent_executions", "fct_defects", "mart_phase_yield",
                  "mart_cost_by_agent_role", "fct_daily_role_costs")
# The incremental models downstream of the seed agent_roles: a change to it refreshes them in full.
AGENT_ROLES_FED = ["fct_defects", "fct_task_costs", "int_defects_phased", "int_review_outcomes", "int_task_week_effort"]
# What a role's phase_class reaches through the incremental int_task_week_effort.
PHASE_CLASS_MODELS = (("intermediate", "int_task_week_effort"), ("marts", "mart_cost_of_quality"),
                      ("marts", "mart_cost_of_quality_weekly"), ("marts", "fct_task_costs"))


def _rows(info: ConnectionInfo, query: str) -> list[tuple]:
    with connection.connect(info) as conn:
        return conn.execute(query).fetchall()


def _marts(info: ConnectionInfo, models=tuple(("marts", mart) for mart in COMPARED_MARTS)) -> dict[str, list[tuple]]:
    """The models' rows (the compared marts by default), but for the build time (as_of and
    the window it ends)."""
    marts = {}
    for schema, mart in models:
        columns = [name for (name,) in _rows(info, "select column_name from information_schema.columns"
                                                   f" where table_schema = '{schema}' and table_name = '{mart}'"
                                                   " order by ordinal_position")
                   if name not in {"as_of", "window_start"}]
        marts[mart] = sorted(_rows(info, f"select {', '.join(columns)} from {schema}.{mart}"), key=repr)
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


def _incremental_tables(info: ConnectionInfo, result: build.BuildResult) -> dict[str, int]:
    """The incremental models the build built, each with its table's oid: a full refresh
    builds a new table (new oid), an incremental build writes into the one there."""
    with connection.connect(info) as conn:
        return {node.name: conn.execute("select to_regclass(%s)::oid", [node.relation]).fetchone()[0]
                for node in result.nodes if node.materialized == "incremental"}


def test_a_changed_seed_refreshes_in_full_the_incremental_models_it_feeds(make_database, tmp_path, monkeypatch):
    """A role's new phase_class reaches the rows of every task (as a full refresh would), by
    a full refresh of the incremental models downstream of agent_roles only; a changed model
    builds everything incrementally, and no change builds nothing."""
    project = scaffold.init_project(tmp_path / "project").directory
    monkeypatch.setenv("ASP_PROJECT_DIR", str(project))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    monkeypatch.delenv("ASP_RETENTION", raising=False)
    # No lookback: an incremental build recomputes no task loaded before it (here, every one).
    no_lookback = ["--vars", "{incremental_lookback: '0 seconds'}"]
    info = make_database("asp_planned_seeds")
    files = generate.generate(60, seed=11, out=tmp_path / "data", end=END, tasks_per_file=30, workers=1).files
    loading.load_paths(info, files)
    planned, first = build_plan.run_planned_build(info, dbt_args=no_lookback)
    assert first.success, first.summary_line()
    assert planned.changed_seeds == [] and planned.note_lines() == []
    tables = _incremental_tables(info, first)
    assert {"int_task_week_effort", "fct_task_costs", "int_agent_executions"} <= tables.keys()

    model = project / "models" / "marts" / "costs" / "fct_agent_executions.sql"
    model.write_text(model.read_text() + "\n")
    planned, changed_model = build_plan.run_planned_build(info, dbt_args=no_lookback)
    assert planned.build_all and planned.reason == "the project changed since the last build: everything"
    assert changed_model.success, changed_model.summary_line()
    assert planned.changed_seeds == [] and planned.refreshed_models is None
    assert _incremental_tables(info, changed_model) == tables, "a changed model refreshes nothing in full"

    planned, nothing = build_plan.run_planned_build(info, dbt_args=no_lookback)
    assert planned.skip and nothing.nodes == []

    appraisal = "select sum(appraisal_latency_ms) from intermediate.int_task_week_effort"
    appraisal_before = _rows(info, appraisal)
    roles = project / "seeds" / "agent_roles.csv"
    roles.write_text(roles.read_text().replace("DesignReview,3,appraisal,", "DesignReview,3,construction,"))
    monkeypatch.setenv("ASP_RETENTION", "12w")
    planned, changed_seed = build_plan.run_planned_build(info, dbt_args=no_lookback)
    assert changed_seed.success, changed_seed.summary_line()
    assert planned.reason == "seed agent_roles changed: everything, what it feeds in full"
    assert planned.refreshed_models == AGENT_ROLES_FED
    after = _incremental_tables(info, changed_seed)
    assert after.keys() == tables.keys(), "everything was built, each node once"
    assert len(changed_seed.nodes) == len({node.unique_id for node in changed_seed.nodes})
    assert {name for name in tables if after[name] != tables[name]} == set(AGENT_ROLES_FED)
    lines = planned.note_lines()
    assert " ".join(line.strip() for line in lines).startswith(
        f"fully refreshed: {', '.join(AGENT_ROLES_FED)} ASP_RETENTION=12w: their history before ")
    assert all(len(line) <= build_plan.NOTE_WIDTH for line in lines)
    assert _rows(info, appraisal) != appraisal_before
    planned_rows = _marts(info, PHASE_CLASS_MODELS)

    assert build_plan.run_planned_build(info, dbt_args=no_lookback)[0].skip
    refreshed = build.run_build(info, ["--full-refresh", *build_plan.WITHOUT_UNIT_TESTS, *no_lookback])
    assert refreshed.success, refreshed.summary_line()
    assert _marts(info, PHASE_CLASS_MODELS) == planned_rows
    assert all(planned_rows.values())


def test_the_seeds_that_changed_are_those_whose_digest_differs_from_the_last_build(db):
    seeds = build_plan.seed_digests()
    assert {"agent_roles", "defect_types", "model_prices_custom"} <= seeds.keys()
    older = {**seeds, "agent_roles": "0" * 64}
    del older["defect_types"]
    with connection.connect(db) as conn:
        conn.execute("delete from raw.table_changes")
        conn.execute("insert into raw.builds (project_digest, started_at, selection, seed_digests)"
                     " values ('older', now(), 'all', %s)", [Jsonb(older)])
    planned = build_plan.plan(db)
    assert planned.build_all and planned.changed_seeds == ["agent_roles", "defect_types"]
    selectors = ["agent_roles+,config.materialized:incremental+", "defect_types+,config.materialized:incremental+"]
    assert planned.dbt_args() == ["--exclude", *selectors, *build_plan.WITHOUT_UNIT_TESTS]
    assert planned.refresh_args() == ["--select", *selectors, "--full-refresh", *build_plan.WITHOUT_UNIT_TESTS]
    assert build_plan.plan(db, full_refresh=True).changed_seeds == [], "a full refresh refreshes all anyway"


def test_a_build_noted_before_seed_digests_refreshes_nothing_for_a_seed(db):
    """Builds noted before migration 0013 have no seed digests: which seeds changed since is
    unknown, and the first planned build after the upgrade builds as before it."""
    with connection.connect(db) as conn:
        conn.execute("delete from raw.table_changes")
        conn.execute("insert into raw.builds (project_digest, started_at, selection) values ('older', now(), 'all')")
    planned = build_plan.plan(db)
    assert planned.build_all and planned.changed_seeds == []
    build_plan.record(db, planned, datetime.now(UTC))
    assert _rows(db, "select seed_digests from raw.builds order by build_id desc limit 1") == [
        (build_plan.seed_digests(),)]


def test_the_planned_build_command_says_what_a_changed_seed_refreshed(db, tmp_path):
    """Even a seed's description counts as a change: the digest is the file's bytes."""
    project = scaffold.init_project(tmp_path / "project").directory
    env = cli_environment(db, ASP_PROJECT_DIR=str(project), DBT_TARGET_PATH=str(tmp_path / "target"),
                          DBT_LOG_PATH=str(tmp_path / "logs"), ASP_RETENTION="12w", COLUMNS="80")
    first = run_cli("build", "--changed-only", env=env)
    assert "planned: no planned build yet: everything\n" in first.stdout
    assert "fully refreshed" not in first.stdout
    roles = project / "seeds" / "agent_roles.csv"
    roles.write_text(roles.read_text().replace("Runs and fixes the tests", "Runs the tests"))
    second = run_cli("build", "--changed-only", env=env).stdout.splitlines()
    start = second.index("planned: seed agent_roles changed: everything, what it feeds in full")
    notes = list(itertools.takewhile(lambda line: line.startswith("  "), second[start + 1:]))
    said = " ".join(line.strip() for line in notes)
    assert said.startswith(f"fully refreshed: {', '.join(AGENT_ROLES_FED)} ASP_RETENTION=12w: their history before ")
    assert said.endswith(" rows retention kept: the weeks it dropped are lost there")
    assert all(len(line) <= 80 for line in [second[start], *notes])
