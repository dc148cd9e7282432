"""PROBE-AI: project a new task's latency, tokens and cost from its estimated complexity.

Follows metrics.md ("PROBE-AI"), which follows the PSP's PROBE method: linear regression
of each actual (y) on the estimated complexity (x) over completed tasks (method A) when
there are at least 3 points, r² >= 0.5 and the correlation is significant (p <= 0.20);
otherwise averaging (method C: y = x * sum(y) / sum(x)); with no data, method D (no
projection: estimate by judgement). The data set is marts.mart_probe_dataset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from asp_telemetry import connection
from asp_telemetry.connection import ConnectionInfo

TARGETS: dict[str, str] = {
    "latency_ms": "actual_latency_ms",
    "tokens": "actual_tokens",
    "api_cost_usd": "actual_api_cost_usd",
}
MIN_POINTS = 3
MIN_R_SQUARED = 0.5
MAX_SIGNIFICANCE = 0.20


class Regression(BaseModel):
    """Least squares of y on x, with the quantities PROBE needs (names as in mart_probe_model)."""

    n: int
    x_avg: float
    sxx: float
    beta0: float
    beta1: float
    r_squared: float
    sigma: float | None  # residual standard deviation; needs n >= 3
    significance: float | None  # two-tailed p-value of the correlation; needs n >= 3


class Interval(BaseModel):
    low: float
    high: float


class Projection(BaseModel):
    target: str
    method: Literal["A", "C", "D"]
    reason: str
    projection: float | None
    interval_70: Interval | None
    interval_90: Interval | None
    n: int
    beta0: float | None
    beta1: float | None
    r_squared: float | None
    significance: float | None


class Estimate(BaseModel):
    complexity: float
    task_type: str | None
    project_id: str | None
    tasks_used: int
    projections: list[Projection]

    def projection(self, target: str) -> Projection:
        return next(p for p in self.projections if p.target == target)

    def estimated_cost_vector(self) -> dict[str, float] | None:
        """The task_metadata.estimated_cost_vector_json this estimate stands for."""
        values = {p.target: p.projection for p in self.projections}
        if any(value is None for value in values.values()):
            return None
        return {"latency_ms": round(values["latency_ms"], 1), "tokens": round(values["tokens"]),
                "api_cost_usd": round(values["api_cost_usd"], 4)}


def regression(xs: Sequence[float], ys: Sequence[float]) -> Regression | None:
    """The regression of ys on xs, or None when it is undefined (fewer than 2 points or all x equal)."""
    n = len(xs)
    if n < 2:
        return None
    x_avg = sum(xs) / n
    y_avg = sum(ys) / n
    sxx = sum((x - x_avg) ** 2 for x in xs)
    if sxx == 0:
        return None
    sxy = sum((x - x_avg) * (y - y_avg) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - y_avg) ** 2 for y in ys)
    beta1 = sxy / sxx
    beta0 = y_avg - beta1 * x_avg
    r_squared = (sxy * sxy) / (sxx * syy) if syy > 0 else 0.0
    sigma = significance = None
    if n >= 3:
        residuals = sum((y - beta0 - beta1 * x) ** 2 for x, y in zip(xs, ys, strict=True))
        sigma = math.sqrt(residuals / (n - 2))
        significance = _significance(r_squared, n)
    return Regression(n=n, x_avg=x_avg, sxx=sxx, beta0=beta0, beta1=beta1, r_squared=r_squared,
                      sigma=sigma, significance=significance)


def _student_t():
    # scipy.stats takes a second to import: only estimates pay it, not every CLI command
    # (the CLI imports this module through the demo).
    from scipy import stats

    return stats.t


def _significance(r_squared: float, n: int) -> float:
    """Two-tailed p-value of t = |r| sqrt((n-2) / (1-r²)) with n-2 degrees of freedom."""
    if r_squared >= 1.0:
        return 0.0
    t = math.sqrt(r_squared) * math.sqrt((n - 2) / (1 - r_squared))
    return float(2 * _student_t().sf(t, n - 2))


def prediction_interval(fit: Regression, xk: float, confidence: float) -> Interval:
    """yk ± t(1 - (1-confidence)/2, n-2) · sigma · sqrt(1 + 1/n + (xk - x̄)² / Sxx); low clamped at 0."""
    yk = fit.beta0 + fit.beta1 * xk
    quantile = float(_student_t().ppf(1 - (1 - confidence) / 2, fit.n - 2))
    half_width = quantile * fit.sigma * math.sqrt(1 + 1 / fit.n + (xk - fit.x_avg) ** 2 / fit.sxx)
    return Interval(low=max(0.0, yk - half_width), high=yk + half_width)


def project(target: str, xs: Sequence[float], ys: Sequence[float], xk: float) -> Projection:
    """Choose the PROBE method for one target and project it for proxy value xk."""
    n = len(xs)
    if n == 0:
        return Projection(
            target=target, method="D", projection=None, interval_70=None, interval_90=None, n=0,
            beta0=None, beta1=None, r_squared=None, significance=None,
            reason="no completed tasks with estimated and actual complexity and cost data yet: "
                   "estimate by engineering judgement (PROBE method D)",
        )
    fit = regression(xs, ys)
    if fit is not None and n >= MIN_POINTS and fit.r_squared >= MIN_R_SQUARED and fit.significance <= MAX_SIGNIFICANCE:
        return Projection(
            target=target, method="A", projection=fit.beta0 + fit.beta1 * xk,
            interval_70=prediction_interval(fit, xk, 0.70), interval_90=prediction_interval(fit, xk, 0.90),
            n=n, beta0=fit.beta0, beta1=fit.beta1, r_squared=fit.r_squared, significance=fit.significance,
            reason=f"regression: {n} tasks, r² = {fit.r_squared:.2f} >= {MIN_R_SQUARED}, "
                   f"significance {fit.significance:.3f} <= {MAX_SIGNIFICANCE}",
        )
    total_x = sum(xs)
    if total_x <= 0:
        return Projection(
            target=target, method="D", projection=None, interval_70=None, interval_90=None, n=n,
            beta0=None, beta1=None, r_squared=None, significance=None,
            reason="the historical tasks' estimated complexities sum to 0, so neither regression nor "
                   "averaging applies: estimate by engineering judgement (PROBE method D)",
        )
    beta1 = sum(ys) / total_x
    return Projection(
        target=target, method="C", projection=beta1 * xk, interval_70=None, interval_90=None, n=n,
        beta0=0.0, beta1=beta1,
        r_squared=fit.r_squared if fit else None, significance=fit.significance if fit else None,
        reason="averaging (no prediction interval in PSP method C) because " + _why_not_regression(n, fit),
    )


def _why_not_regression(n: int, fit: Regression | None) -> str:
    if n < MIN_POINTS:
        return f"regression needs at least {MIN_POINTS} tasks and there {'is' if n == 1 else 'are'} {n}"
    if fit is None:
        return "every task has the same estimated complexity, so there is no regression line"
    if fit.r_squared < MIN_R_SQUARED:
        return f"the correlation is weak (r² = {fit.r_squared:.2f} < {MIN_R_SQUARED})"
    return f"the correlation is not significant (p = {fit.significance:.3f} > {MAX_SIGNIFICANCE})"


def load_dataset(
    info: ConnectionInfo, task_type: str | None = None, project_id: str | None = None
) -> list[dict[str, float]]:
    """The PROBE data set (marts.mart_probe_dataset), optionally only one task type or project."""
    query = """
        select probe.proxy, probe.actual_latency_ms, probe.actual_tokens, probe.actual_api_cost_usd
        from marts.mart_probe_dataset as probe
        join marts.fct_task_costs as task using (task_id)
        where (%(task_type)s::text is null or task.task_type = %(task_type)s)
          and (%(project_id)s::text is null or task.project_id = %(project_id)s)
        order by probe.task_id
    """
    with connection.connect(info) as conn:
        connection.require_built(conn, "marts.mart_probe_dataset")
        rows = conn.execute(query, {"task_type": task_type, "project_id": project_id}).fetchall()
    return [
        {"proxy": float(proxy), **{target: float(value or 0) for target, value in zip(TARGETS, values, strict=True)}}
        for proxy, *values in rows
    ]


def estimate(
    info: ConnectionInfo, complexity: float, task_type: str | None = None, project_id: str | None = None
) -> Estimate:
    """Project latency, tokens and cost for a new task of estimated `complexity`."""
    if complexity <= 0:
        raise ValueError(f"complexity must be positive (got {complexity})")
    data = load_dataset(info, task_type, project_id)
    xs = [row["proxy"] for row in data]
    return Estimate(
        complexity=complexity, task_type=task_type, project_id=project_id, tasks_used=len(data),
        projections=[project(target, xs, [row[target] for row in data], complexity) for target in TARGETS],
    )


def plan(
    info: ConnectionInfo,
    task_id: str,
    complexity: float,
    task_type: str | None = None,
    project_id: str | None = None,
    description: str | None = None,
) -> Estimate:
    """Estimate a new task and record it (pending, with its estimated complexity and cost
    vector) through the loader, so that the bootstrap snapshot later scores the estimate."""
    from asp_telemetry import loading

    result = estimate(info, complexity, task_type=task_type, project_id=project_id)
    vector = result.estimated_cost_vector()
    if vector is None:
        raise ValueError("no projection to record (PROBE method D: there is no historical data yet)")
    record = {
        "record": "task_metadata", "task_id": task_id, "status": "pending", "task_type": task_type,
        "project_id": project_id, "task_description": description,
        "estimated_complexity": round(complexity), "estimated_cost_vector_json": vector,
        "metadata": {"estimated_by": "asp-telemetry plan", "methods": {p.target: p.method for p in result.projections}},
    }
    summary = loading.load_records(info, [{k: v for k, v in record.items() if v is not None}], source="plan",
                                   strict=True)
    if summary.status != "complete":
        raise ValueError(f"task {task_id} was not recorded: {summary.error or 'rejected (see raw.rejected_records)'}")
    return result
