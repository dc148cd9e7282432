"""PROBE-AI arithmetic against an independent computation (NumPy and SciPy's linregress),
and the method choice on data sets built to hit each branch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from asp_telemetry import probe


@pytest.fixture
def noisy_linear():
    rng = np.random.default_rng(7)
    x = rng.uniform(4, 60, size=40).round()
    y = 5_000 + 4_800 * x + rng.normal(0, 20_000, size=40)
    return x.tolist(), y.tolist()


def test_regression_matches_scipy_linregress(noisy_linear):
    x, y = noisy_linear
    fit = probe.regression(x, y)
    reference = stats.linregress(x, y)
    assert fit.beta1 == pytest.approx(reference.slope, rel=1e-12)
    assert fit.beta0 == pytest.approx(reference.intercept, rel=1e-12)
    assert fit.r_squared == pytest.approx(reference.rvalue**2, rel=1e-12)
    # linregress's p-value tests slope = 0, the same t statistic as the correlation's.
    assert fit.significance == pytest.approx(reference.pvalue, rel=1e-9)
    residuals = np.asarray(y) - (reference.intercept + reference.slope * np.asarray(x))
    assert fit.sigma == pytest.approx(math.sqrt((residuals**2).sum() / (len(x) - 2)), rel=1e-12)
    assert fit.sxx == pytest.approx(((np.asarray(x) - np.mean(x)) ** 2).sum(), rel=1e-12)
    assert fit.x_avg == pytest.approx(np.mean(x))


def test_prediction_intervals_match_the_textbook_formula(noisy_linear):
    x, y = map(np.asarray, noisy_linear)
    xk = 25.0
    result = probe.project("tokens", x.tolist(), y.tolist(), xk)
    assert result.method == "A"
    slope, intercept = np.polyfit(x, y, 1)
    n = len(x)
    s = np.sqrt(((y - (intercept + slope * x)) ** 2).sum() / (n - 2))
    for confidence, interval in ((0.70, result.interval_70), (0.90, result.interval_90)):
        half = stats.t.ppf(0.5 + confidence / 2, n - 2) * s * np.sqrt(1 + 1 / n + (xk - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
        assert interval.low == pytest.approx(max(0, intercept + slope * xk - half), rel=1e-9)
        assert interval.high == pytest.approx(intercept + slope * xk + half, rel=1e-9)
    assert result.projection == pytest.approx(intercept + slope * xk, rel=1e-9)
    assert result.interval_90.low < result.interval_70.low < result.projection < result.interval_70.high < result.interval_90.high


def test_lower_bound_is_clamped_at_zero():
    x = [1, 2, 3, 4, 5, 6]
    y = [0.5, 4.0, 1.0, 7.0, 3.5, 9.0]
    fit = probe.regression(x, y)
    assert probe.prediction_interval(fit, 0.1, 0.90).low == 0.0


def test_too_few_points_fall_back_to_averaging():
    result = probe.project("tokens", [10, 20], [1000, 2100], 15)
    assert result.method == "C"
    assert "at least 3 tasks and there are 2" in result.reason
    assert result.beta0 == 0 and result.beta1 == pytest.approx(3100 / 30)
    assert result.projection == pytest.approx(15 * 3100 / 30)
    assert result.interval_70 is None


def test_one_point_is_averaging_too():
    result = probe.project("tokens", [10], [1000], 20)
    assert (result.method, result.projection) == ("C", 2000)
    assert "there is 1" in result.reason


def test_weak_correlation_falls_back_to_averaging():
    rng = np.random.default_rng(1)
    x = rng.uniform(1, 50, 60)
    y = 1000 + rng.normal(0, 300, 60)  # unrelated to x
    result = probe.project("latency_ms", x.tolist(), y.tolist(), 20)
    assert result.method == "C"
    assert "weak" in result.reason and result.r_squared < 0.5


def test_insignificant_correlation_falls_back_to_averaging():
    # Three points with r² >= 0.5 whose correlation is not significant at 0.20 (one degree of freedom).
    x, y = [1, 2, 3], [1.0, 3.0, 2.6]
    fit = probe.regression(x, y)
    assert fit.r_squared >= 0.5 and fit.significance > 0.20
    result = probe.project("tokens", x, y, 2)
    assert result.method == "C" and "not significant" in result.reason


def test_equal_proxies_have_no_regression_line():
    result = probe.project("tokens", [5, 5, 5, 5], [10, 12, 9, 11], 5)
    assert result.method == "C" and "same estimated complexity" in result.reason


def test_no_data_is_method_d_said_plainly():
    result = probe.project("api_cost_usd", [], [], 10)
    assert result.method == "D" and result.projection is None
    assert "engineering judgement" in result.reason


def test_a_good_data_set_uses_regression():
    x = list(range(1, 21))
    y = [100 + 50 * v + (7 if v % 2 else -7) for v in x]
    result = probe.project("tokens", x, y, 10)
    assert result.method == "A" and result.significance < 0.001
    assert "regression: 20 tasks" in result.reason
