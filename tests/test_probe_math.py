"""PROBE-AI arithmetic against an independent computation (NumPy and SciPy's linregress),
and the method choice on data sets built to hit each branch.

The fit is dbt's (marts.mart_probe_fits): each data set below is loaded as the completed
tasks of a project of its own, the models are built once, and each test reads its
project's fit the way `asp-telemetry estimate --project` does. Every y is stored as a cost
row (numeric with 4 decimals), so the references use the values read back from the mart.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from asp_telemetry import build, connection, probe

pytestmark = pytest.mark.slow


def _noisy_linear() -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(7)
    x = rng.uniform(4, 60, size=40).round()
    # an intercept far enough above 0 that no cost row is negative
    y = 100_000 + 4_800 * x + rng.normal(0, 20_000, size=40)
    return x.tolist(), y.tolist()


def _weak() -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(1)
    x = rng.uniform(1, 50, 60).round()
    y = 1000 + rng.normal(0, 300, 60)  # unrelated to x
    return x.tolist(), y.tolist()


DATA_SETS = {
    "noisy": _noisy_linear(),
    "clamped": ([1, 2, 3, 4, 5, 6], [0.5, 4.0, 1.0, 7.0, 3.5, 9.0]),
    "two": ([10, 20], [1000, 2100]),
    "one": ([10], [1000]),
    "weak": _weak(),
    # Three points with r² >= 0.5 whose correlation is not significant at 0.20 (one degree of freedom).
    "insignificant": ([1, 2, 3], [1.0, 3.0, 2.6]),
    "equal-proxies": ([5, 5, 5, 5], [10, 12, 9, 11]),
    "good": (list(range(1, 21)), [100 + 50 * v + (7 if v % 2 else -7) for v in range(1, 21)]),
    "constant": ([1, 2, 3, 4, 5], [42, 42, 42, 42, 42]),
}
UNITS = {"Latency": "ms", "Tokens_In": "tokens", "API_Cost": "USD"}


def _rows(project: str, xs, ys, at: datetime) -> dict[str, list[dict]]:
    tasks, costs = [], []
    for number, (x, y) in enumerate(zip(xs, ys, strict=True)):
        task_id = f"{project}-{number}"
        tasks.append({"task_id": task_id, "project_id": project, "task_type": "probe-math", "status": "completed",
                      "estimated_complexity": int(x), "actual_complexity": int(x), "created_at": at,
                      "completed_at": at})
        # one execution whose Latency, Tokens_In and API_Cost are all y: every target is y
        costs += [{"timestamp": at, "task_id": task_id, "project_id": project, "agent_role": "Code",
                   "metric_type": metric, "metric_value": round(y, 4), "metric_unit": unit,
                   "metadata": json.dumps({"execution_id": f"{task_id}-e"})} for metric, unit in UNITS.items()]
    return {"task_metadata": tasks, "agent_cost_vector": costs}


@pytest.fixture(scope="module")
def fitted(make_database, tmp_path_factory):
    """Every data set loaded as a project of its own, and the PROBE models built."""
    info = make_database("asp_probe_math")
    at = datetime.now(UTC) - timedelta(days=1)
    with connection.connect(info) as conn:
        for project, (xs, ys) in DATA_SETS.items():
            for table, rows in _rows(project, xs, ys, at).items():
                columns = list(rows[0])
                conn.cursor().executemany(
                    f"insert into raw.{table} ({', '.join(columns)}) values ({', '.join(['%s'] * len(columns))})",
                    [[row[column] for column in columns] for row in rows],
                )
    target = str(tmp_path_factory.mktemp("probe-math-target"))
    result = build.run_build(info, ["--target-path", target, "--select", "+mart_probe_fits",
                                    "--exclude-resource-type", "test", "unit_test"])
    assert result.success, result.summary_line()
    return info


def _points(info, project: str, target: str = "tokens") -> tuple[np.ndarray, np.ndarray]:
    """The data set as stored (cost rows keep 4 decimals), from the mart the fit reads."""
    with connection.connect(info) as conn:
        rows = conn.execute(
            f"select proxy, actual_{target} from marts.mart_probe_dataset where project_id = %s order by task_id",
            [project],
        ).fetchall()
    data = np.array(rows, dtype=float)
    return data[:, 0], data[:, 1]


def _fit(info, project: str, target: str = "tokens") -> probe.Regression | None:
    return probe.fits(info, project_id=project).get(target)


def test_regression_matches_scipy_linregress(fitted):
    x, y = _points(fitted, "noisy")
    fit = _fit(fitted, "noisy")
    reference = stats.linregress(x, y)
    assert fit.n == len(x) == 40
    assert fit.beta1 == pytest.approx(reference.slope, rel=1e-12)
    assert fit.beta0 == pytest.approx(reference.intercept, rel=1e-12)
    assert fit.r_squared == pytest.approx(reference.rvalue**2, rel=1e-12)
    # linregress's p-value tests slope = 0, the same t statistic as the correlation's.
    assert fit.significance == pytest.approx(reference.pvalue, rel=1e-9)
    residuals = y - (reference.intercept + reference.slope * x)
    assert fit.sigma == pytest.approx(math.sqrt((residuals**2).sum() / (len(x) - 2)), rel=1e-12)
    assert fit.sxx == pytest.approx(((x - np.mean(x)) ** 2).sum(), rel=1e-12)
    assert fit.x_avg == pytest.approx(np.mean(x))


def test_every_target_and_the_overall_fit_come_from_the_same_regression(fitted):
    fits = probe.fits(fitted, project_id="noisy")
    assert set(fits) == set(probe.TARGETS)
    for target in probe.TARGETS:
        x, y = _points(fitted, "noisy", target)
        assert fits[target].beta1 == pytest.approx(stats.linregress(x, y).slope, rel=1e-12), target
    everything = probe.fits(fitted)["tokens"]
    assert everything.n == sum(len(xs) for xs, _ in DATA_SETS.values())


def test_prediction_intervals_match_the_textbook_formula(fitted):
    x, y = _points(fitted, "noisy")
    xk = 25.0
    result = probe.project("tokens", _fit(fitted, "noisy"), xk)
    assert result.method == "A"
    slope, intercept = np.polyfit(x, y, 1)
    n = len(x)
    s = np.sqrt(((y - (intercept + slope * x)) ** 2).sum() / (n - 2))
    for confidence, interval in ((0.70, result.interval_70), (0.90, result.interval_90)):
        half = (
            stats.t.ppf(0.5 + confidence / 2, n - 2)
            * s
            * np.sqrt(1 + 1 / n + (xk - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
        )
        assert interval.low == pytest.approx(max(0, intercept + slope * xk - half), rel=1e-9)
        assert interval.high == pytest.approx(intercept + slope * xk + half, rel=1e-9)
    assert result.projection == pytest.approx(intercept + slope * xk, rel=1e-9)
    assert (
        result.interval_90.low
        < result.interval_70.low
        < result.projection
        < result.interval_70.high
        < result.interval_90.high
    )


def test_lower_bound_is_clamped_at_zero(fitted):
    fit = _fit(fitted, "clamped")
    assert probe.prediction_interval(fit, 0.1, 0.90).low == 0.0


def test_too_few_points_fall_back_to_averaging(fitted):
    result = probe.project("tokens", _fit(fitted, "two"), 15)
    assert result.method == "C"
    assert "at least 3 tasks and there are 2" in result.reason
    assert result.beta0 == 0 and result.beta1 == pytest.approx(3100 / 30)
    assert result.projection == pytest.approx(15 * 3100 / 30)
    assert result.interval_70 is None


def test_one_point_is_averaging_too(fitted):
    result = probe.project("tokens", _fit(fitted, "one"), 20)
    assert (result.method, result.projection) == ("C", 2000)
    assert "there is 1" in result.reason


def test_weak_correlation_falls_back_to_averaging(fitted):
    result = probe.project("latency_ms", _fit(fitted, "weak", "latency_ms"), 20)
    assert result.method == "C"
    assert "weak" in result.reason and result.r_squared < 0.5


def test_insignificant_correlation_falls_back_to_averaging(fitted):
    fit = _fit(fitted, "insignificant")
    assert fit.r_squared >= 0.5 and fit.significance > 0.20
    result = probe.project("tokens", fit, 2)
    assert result.method == "C" and "not significant" in result.reason


def test_equal_proxies_have_no_regression_line(fitted):
    result = probe.project("tokens", _fit(fitted, "equal-proxies"), 5)
    assert result.method == "C" and "same estimated complexity" in result.reason


def test_no_data_is_method_d_said_plainly(fitted):
    result = probe.project("api_cost_usd", _fit(fitted, "no-such-project", "api_cost_usd"), 10)
    assert result.method == "D" and result.projection is None
    assert "engineering judgement" in result.reason


def test_a_good_data_set_uses_regression(fitted):
    result = probe.project("tokens", _fit(fitted, "good"), 10)
    assert result.method == "A" and result.significance < 0.001
    assert "regression: 20 tasks" in result.reason


def test_equal_actuals_are_a_perfect_horizontal_line(fitted):
    """r² = 1 when every y is equal (the model's definition, as regr_r2): t is infinite, p = 0,
    so PROBE takes the regression, which projects that value with a zero-width interval."""
    fit = _fit(fitted, "constant")
    assert (fit.beta1, fit.r_squared, fit.sigma, fit.significance) == (0, 1, 0, 0)
    result = probe.project("tokens", fit, 30)
    assert result.method == "A" and result.projection == 42
    assert (result.interval_70.low, result.interval_70.high) == (42, 42)
