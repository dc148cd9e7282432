"""PROBE-AI estimates from built marts: the same numbers as an independent computation, the
CLI, and `plan`, which records the estimate on a new task through the loader."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from support import cli_environment, run_cli

from asp_telemetry import connection, probe


def _dataset(info, where: str = "true", params=()) -> np.ndarray:
    with connection.connect(info) as conn:
        rows = conn.execute(
            f"""
            select p.proxy, p.actual_latency_ms, p.actual_tokens, p.actual_api_cost_usd
            from marts.mart_probe_dataset p join marts.fct_task_costs t using (task_id)
            where {where}
            """,
            params,
        ).fetchall()
    return np.array(rows, dtype=float)


def test_estimate_matches_an_independent_computation(analytics_db):
    data = _dataset(analytics_db)
    result = probe.estimate(analytics_db, 22)
    assert result.tasks_used == len(data) > 300
    for column, target in enumerate(probe.TARGETS, start=1):
        x, y = data[:, 0], data[:, column]
        reference = stats.linregress(x, y)
        item = result.projection(target)
        assert item.method == "A"
        assert item.beta1 == pytest.approx(reference.slope, rel=1e-9)
        assert item.beta0 == pytest.approx(reference.intercept, rel=1e-9)
        assert item.r_squared == pytest.approx(reference.rvalue**2, rel=1e-9)
        assert item.significance == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-300)
        n = len(x)
        sigma = np.sqrt(((y - reference.intercept - reference.slope * x) ** 2).sum() / (n - 2))
        half = (
            stats.t.ppf(0.85, n - 2) * sigma * np.sqrt(1 + 1 / n + (22 - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
        )
        assert item.projection == pytest.approx(reference.intercept + reference.slope * 22, rel=1e-9)
        assert item.interval_70.high == pytest.approx(item.projection + half, rel=1e-9)


def test_the_mart_regression_is_the_estimators_and_matches_an_independent_computation(analytics_db):
    data = _dataset(analytics_db)
    with connection.connect(analytics_db) as conn:
        models = {row[0]: row[1:] for row in conn.execute(
            "select target, n, beta0, beta1, r_squared, sigma from marts.mart_probe_model")}
    estimator = probe.fits(analytics_db)
    for column, target in enumerate(probe.TARGETS, start=1):
        x, y = data[:, 0], data[:, column]
        reference = stats.linregress(x, y)
        n, beta0, beta1, r_squared, sigma = models[target]
        assert n == len(x) == estimator[target].n
        assert float(beta1) == pytest.approx(reference.slope, rel=1e-9)
        assert float(beta0) == pytest.approx(reference.intercept, rel=1e-9)
        assert float(r_squared) == pytest.approx(reference.rvalue**2, rel=1e-9)
        residuals = y - reference.intercept - reference.slope * x
        assert float(sigma) == pytest.approx(np.sqrt((residuals**2).sum() / (n - 2)), rel=1e-9)
        assert (estimator[target].beta0, estimator[target].beta1, estimator[target].r_squared,
                estimator[target].sigma) == (float(beta0), float(beta1), float(r_squared), float(sigma))


def test_filters_use_only_that_task_type_or_project(analytics_db):
    data = _dataset(analytics_db, "t.task_type = %s", ["api"])
    result = probe.estimate(analytics_db, 15, task_type="api")
    assert result.tasks_used == len(data) > 0
    assert result.projection("tokens").beta1 == pytest.approx(stats.linregress(data[:, 0], data[:, 2]).slope)
    project = _dataset(analytics_db, "t.task_type = %s and t.project_id = %s", ["api", "Billing"])
    both = probe.estimate(analytics_db, 15, task_type="api", project_id="Billing")
    assert both.tasks_used == len(project) > 0
    assert both.projection("tokens").beta1 == pytest.approx(stats.linregress(project[:, 0], project[:, 2]).slope)
    with pytest.raises(ValueError, match="no completed task has project 'no-such-project': known projects are .*Bil"):
        probe.estimate(analytics_db, 15, project_id="no-such-project")


def test_an_unknown_task_type_is_named_with_the_known_ones(analytics_db):
    known = probe.known_values(analytics_db, "task_type")
    assert "api" in known
    result = run_cli("estimate", "--complexity", "10", "--task-type", "nosuchtype",
                     env=cli_environment(analytics_db, COLUMNS="80"), check=False)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "no completed task has task type 'nosuchtype': known task types are " + ", ".join(known) in message
    assert "leave --task-type out" in message


def test_no_marts_and_no_data_are_said_plainly(db, analytics_db):
    with pytest.raises(LookupError, match="run `asp-telemetry build` first"):
        probe.estimate(db, 10)
    with pytest.raises(ValueError, match="complexity must be positive"):
        probe.estimate(analytics_db, 0)


def test_estimate_cli_prints_a_table_and_json(analytics_db):
    env = cli_environment(analytics_db, COLUMNS="160")
    table = run_cli("estimate", "--complexity", "18", env=env).stdout
    assert "PROBE-AI estimate for complexity 18" in table and "70% interval" in table and "method A" in table
    piped = run_cli("estimate", "--complexity", "18", env=cli_environment(analytics_db, COLUMNS="80")).stdout
    assert "\x1b[" not in piped and "…" not in piped
    assert max(len(line.rstrip()) for line in piped.splitlines()) <= 80
    document = json.loads(run_cli("estimate", "--complexity", "18", "--json", env=env).stdout)
    assert [p["target"] for p in document["projections"]] == ["latency_ms", "tokens", "api_cost_usd"]
    assert document["projections"][2]["interval_90"]["low"] >= 0


def test_plan_records_the_estimate_on_a_new_task(make_database, tmp_path):
    from asp_telemetry import build, generate, loading

    info = make_database("asp_plan")
    files = generate.generate(120, seed=3, out=tmp_path / "data", workers=1).files
    loading.load_paths(info, files)
    assert build.run_build(
        info, ["--target-path", str(tmp_path / "target"), "--exclude-resource-type", "unit_test"]
    ).success
    result = run_cli("plan", "NEW-1", "--complexity", "24", "--task-type", "api", "--description", "Add OAuth login",
                     env=cli_environment(info, COLUMNS="160"))
    assert "recorded task NEW-1 (pending)" in result.stdout
    with connection.connect(info) as conn:
        status, complexity, vector, description = conn.execute(
            "select status, estimated_complexity, estimated_cost_vector_json, task_description"
            " from raw.task_metadata where task_id = 'NEW-1'").fetchone()
    expected = probe.estimate(info, 24, task_type="api").estimated_cost_vector()
    assert (status, complexity, description) == ("pending", 24, "Add OAuth login")
    assert vector == expected
    assert set(vector) == {"latency_ms", "tokens", "api_cost_usd"}
