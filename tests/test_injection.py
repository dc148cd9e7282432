"""No value from a dbt var, a flow parameter or a command-line argument reaches SQL or a shell
as text: each is parsed and typed first, and a bad one fails naming it, creating nothing."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from support import cli_environment, run_cli

from asp_telemetry import build, connection
from asp_telemetry.spec_sql import sample_data

PWNED = "pwned_by_injection"

INJECTIONS = {
    "incremental_lookback": f"1 minute') from raw.loads; create table public.{PWNED} (a int); select ('",
    "cost_window_days": f"1); create table public.{PWNED} (a int); select (1",
    "as_of": f"2026-01-01'::timestamptz as x; create table public.{PWNED} (a int); select '2026-01-01",
    "error_prone_min_defects": f"0 or true; create table public.{PWNED} (a int); select 1",
    "bootstrap_period_start": f"2026-01-01'::timestamptz; create table public.{PWNED} (a int); select '2026-01-01",
    "bootstrap_period_end": f"2026-01-01 00:00:00+00'::timestamptz; create table public.{PWNED} (a int); --",
    "bootstrap_period_days": f"14)); create table public.{PWNED} (a int); select ((1",
}
INVALID = [
    ("incremental_lookback", "15 fortnights", "units: seconds, minutes, hours, days, weeks"),
    ("incremental_lookback", -5, "an interval between 0 and 3650 days"),
    ("incremental_lookback", "15 minutes ago", "minutes (a whole number) or an interval"),
    ("cost_window_days", 0, "a whole number from 1 to 36500"),
    ("cost_window_days", 2.5, "a whole number"),
    ("error_prone_min_defects", True, "a whole number"),
    ("as_of", "2026-02-30T00:00:00Z", "a date that exists"),
    ("as_of", "2026-01-31", "with its UTC offset"),
    ("as_of", "yesterday", "an ISO 8601 timestamp"),
    ("bootstrap_period_end", "2026-01-31", "with its UTC offset"),
    ("bootstrap_period_start", "2026-13-01T00:00:00Z", "a date and time that exists"),
    ("bootstrap_period_days", 0, "a whole number from 1 to 3650"),
    ("bootstrap_period_days", 14.5, "a whole number"),
]


def _nothing_was_created(info) -> None:
    with connection.connect(info) as conn:
        found = conn.execute("select count(*) from pg_class where relname = %s", [PWNED]).fetchone()[0]
    assert found == 0


@pytest.mark.parametrize("var", INJECTIONS)
def test_an_injected_var_fails_the_build_naming_it_and_creates_nothing(db, tmp_path, var):
    result = build.run_build(db, ["--target-path", str(tmp_path), "--vars", json.dumps({var: INJECTIONS[var]})])
    assert not result.success
    assert f"var {var}: expected" in (result.error or ""), result.error
    _nothing_was_created(db)


@pytest.mark.parametrize(("var", "value", "expected"), INVALID, ids=[f"{v}={x!r}" for v, x, _ in INVALID])
def test_a_var_that_is_not_of_its_type_fails_the_build_naming_it(db, tmp_path, var, value, expected):
    result = build.run_build(db, ["--target-path", str(tmp_path), "--vars", json.dumps({var: value})])
    assert not result.success and not result.nodes
    assert f"var {var}: expected" in result.error and expected in result.error, result.error


def test_the_cli_refuses_an_injected_var_as_a_user_types_it(db, tmp_path):
    crafted = "{cost_window_days: '" + INJECTIONS["cost_window_days"] + "'}"
    result = run_cli("build", "--target-path", str(tmp_path), "--vars", crafted, env=cli_environment(db), check=False)
    assert result.returncode == 1
    assert "var cost_window_days: expected a whole number" in " ".join(result.stderr.split())
    _nothing_was_created(db)


def test_valid_vars_of_every_form_are_typed_into_the_sql(db, tmp_path):
    with connection.connect(db) as conn:
        conn.execute("set local search_path = raw")
        conn.execute(sample_data())
    variables = ("{as_of: 2026-01-31T12:30:00.5+02:00, cost_window_days: '7',"
                 " incremental_lookback: '1 hour 30 minutes', error_prone_min_defects: 1}")
    result = build.run_build(db, ["--target-path", str(tmp_path), "--vars", variables,
                                  "--select", "+mart_cost_by_agent_role", "+mart_defect_density_by_component",
                                  "--exclude-resource-type", "test", "unit_test"])
    assert result.success, result.error or [(n.label, n.message) for n in result.failed_nodes]
    with connection.connect(db) as conn:
        as_of, window_start = conn.execute(
            "select distinct as_of, window_start from marts.mart_cost_by_agent_role").fetchone()
        prone = conn.execute("select bool_and(error_prone) from marts.mart_defect_density_by_component"
                             " where defect_count >= 1").fetchone()[0]
    assert as_of == datetime(2026, 1, 31, 10, 30, 0, 500000, tzinfo=UTC)
    assert as_of - window_start == timedelta(days=7)
    assert prone is True
    compiled = (tmp_path / "compiled" / "asp_telemetry" / "models" / "marts" / "costs"
                / "mart_cost_by_agent_role.sql").read_text()
    assert "'2026-01-31 12:30:00.500000+02:00'::timestamptz" in compiled
    assert "make_interval(days => 7)" in compiled


def test_the_bootstrap_period_vars_are_typed_into_the_sql(db, tmp_path):
    variables = "{bootstrap_period_end: '2026-01-31T12:00:00+02:00', bootstrap_period_days: '3'}"
    result = build.run_build(db, ["--target-path", str(tmp_path), "--vars", variables,
                                  "--select", "int_bootstrap_period"])
    assert result.success, result.error or [(n.label, n.message) for n in result.failed_nodes]
    with connection.connect(db) as conn:
        start, end = conn.execute("select period_start, period_end from intermediate.int_bootstrap_period").fetchone()
    assert end == datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert end - start == timedelta(days=3)


def test_a_bootstrap_period_that_ends_before_it_starts_fails_naming_the_var(db, tmp_path):
    variables = json.dumps({"bootstrap_period_start": "2026-02-01T00:00:00Z",
                            "bootstrap_period_end": "2026-01-01T00:00:00Z"})
    result = build.run_build(db, ["--target-path", str(tmp_path), "--vars", variables])
    assert not result.success and not result.nodes
    assert "var bootstrap_period_start: expected a timestamp before bootstrap_period_end" in result.error, result.error


def test_flow_parameters_accept_node_selectors_only(prefect_server, db, use_database):
    from prefect.exceptions import ParameterTypeError

    from asp_telemetry.flows.transform import transform

    use_database(db)
    for select in (["--vars", "{cost_window_days: '" + INJECTIONS["cost_window_days"] + "'}"],
                   ["marts --full-refresh"], ["+-x"], ["marts", "--vars"]):
        with pytest.raises(ParameterTypeError, match="not a dbt node selector"):
            transform(select=select)
    with pytest.raises(ParameterTypeError, match="Input should be a valid list"):
        transform(select="--vars")
    _nothing_was_created(db)
    for selector in ("marts", "tag:nightly", "+fct_task_costs", "path:models/marts", "config.materialized:table",
                     "2+mart_phase_yield+", "@fct_defects", "marts.*", "staging,tag:x"):
        assert build.check_selector(selector) == selector


def test_build_arguments_never_reach_a_shell(db, tmp_path):
    marker = tmp_path / "shell-ran"
    arguments = [f"x; touch {marker}", f"$(touch {marker})", f"`touch {marker}`", f"| touch {marker}"]
    run_cli("build", "--target-path", str(tmp_path / "target"), "--select", *arguments,
            env=cli_environment(db), check=False)
    assert not marker.exists()


def test_failing_rows_are_sampled_from_the_projects_own_tests_only(db, tmp_path):
    outcome = build.run_dbt(db, ["parse", "--target-path", str(tmp_path), "--log-level", "none"])
    assert outcome.success, outcome.exception
    tests = [node for node in outcome.result.nodes.values() if node.resource_type == "test"]
    assert tests and all(build._is_own_test(node) for node in tests)
    foreign = copy.copy(tests[0])
    foreign.package_name = "some_installed_package"
    assert not build._is_own_test(foreign)
    for path in ("../elsewhere/tests/x.sql", "/tmp/x.sql", "target/compiled/x.sql"):
        outside = copy.copy(tests[0])
        outside.original_file_path = path
        assert not build._is_own_test(outside), path
