"""PROBE-AI: project a new task's latency, tokens and cost from its estimated complexity.

Follows metrics.md ("PROBE-AI"), which follows the PSP's PROBE method. The regression itself
(n, means, sums of squares, slope, intercept, r², sigma, t, method C's slope) is computed in
dbt, once, for every scope the estimator offers (marts.mart_probe_fits: all tasks, a task
type, a project, both). This module adds what SQL cannot: the significance of the correlation
and the prediction interval (Student-t), and the choice of method: regression (method A) when
there are at least 3 points, r² >= 0.5 and the correlation is significant (p <= 0.20);
otherwise averaging (method C: y = x * sum(y) / sum(x)); with no data, method D (no
projection: estimate by judgement).

Every y equal (r² = 1 by the model's definition, as PostgreSQL's regr_r2): the horizontal line
y = y_avg fits every point, t is infinite and p = 0, so from 3 points on PROBE uses method A:
it projects that one value with a zero-width interval, which is what the history says (method
C would scale it with the proxy, against the data).
"""

from __future__ import annotations

import math
from typing import Literal

from psycopg import sql
from pydantic import BaseModel

from asp_telemetry import connection
from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.errors import InvalidInput

# The targets in the order the estimator shows them (the model lists the same three).
TARGETS = ("latency_ms", "tokens", "api_cost_usd")
MIN_POINTS = 3
MIN_R_SQUARED = 0.5
MAX_SIGNIFICANCE = 0.20


class Regression(BaseModel):
    """One row of marts.mart_probe_fits: the fit of one target over one scope."""

    n: int
    x_avg: float | None = None
    sxx: float | None = None
    beta0: float | None = None  # None when every x is equal (no line)
    beta1: float | None = None
    r_squared: float | None = None
    sigma: float | None = None  # residual standard deviation; needs n >= 3
    t_statistic: float | None = None  # None when n < 3 or r² = 1
    averaging_beta1: float | None = None  # method C's slope sum(y) / sum(x); None unless sum(x) > 0

    @property
    def has_line(self) -> bool:
        return self.beta1 is not None

    @property
    def significance(self) -> float | None:
        """Two-tailed p-value of the correlation's t with n-2 degrees of freedom; None below 3 points."""
        if self.n < MIN_POINTS or self.r_squared is None:
            return None
        if self.t_statistic is None:  # r² = 1: t is infinite
            return 0.0
        return float(2 * _student_t().sf(self.t_statistic, self.n - 2))


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


def _student_t():
    # scipy.stats takes a second to import: only estimates pay it, not every CLI command
    # (the CLI imports this module through the demo).
    from scipy import stats

    return stats.t


def prediction_interval(fit: Regression, xk: float, confidence: float) -> Interval:
    """yk ± t(1 - (1-confidence)/2, n-2) · sigma · sqrt(1 + 1/n + (xk - x̄)² / Sxx); low clamped at 0."""
    yk = fit.beta0 + fit.beta1 * xk
    quantile = float(_student_t().ppf(1 - (1 - confidence) / 2, fit.n - 2))
    half_width = quantile * fit.sigma * math.sqrt(1 + 1 / fit.n + (xk - fit.x_avg) ** 2 / fit.sxx)
    return Interval(low=max(0.0, yk - half_width), high=yk + half_width)


def project(target: str, fit: Regression | None, xk: float) -> Projection:
    """Choose the PROBE method for one target's fit (None: no data) and project it for proxy value xk."""
    n = fit.n if fit else 0
    if fit is None or n == 0:
        return Projection(
            target=target, method="D", projection=None, interval_70=None, interval_90=None, n=0,
            beta0=None, beta1=None, r_squared=None, significance=None,
            reason="no completed tasks with estimated and actual complexity and cost data yet: "
                   "estimate by engineering judgement (PROBE method D)",
        )
    significance = fit.significance
    if (fit.has_line and n >= MIN_POINTS and fit.r_squared >= MIN_R_SQUARED
            and significance <= MAX_SIGNIFICANCE):
        return Projection(
            target=target, method="A", projection=fit.beta0 + fit.beta1 * xk,
            interval_70=prediction_interval(fit, xk, 0.70), interval_90=prediction_interval(fit, xk, 0.90),
            n=n, beta0=fit.beta0, beta1=fit.beta1, r_squared=fit.r_squared, significance=significance,
            reason=f"regression: {n} tasks, r² = {fit.r_squared:.2f} >= {MIN_R_SQUARED}, "
                   f"significance {significance:.3f} <= {MAX_SIGNIFICANCE}",
        )
    if fit.averaging_beta1 is None:
        return Projection(
            target=target, method="D", projection=None, interval_70=None, interval_90=None, n=n,
            beta0=None, beta1=None, r_squared=None, significance=None,
            reason="the historical tasks' estimated complexities sum to 0, so neither regression nor "
                   "averaging applies: estimate by engineering judgement (PROBE method D)",
        )
    return Projection(
        target=target, method="C", projection=fit.averaging_beta1 * xk, interval_70=None, interval_90=None,
        n=n, beta0=0.0, beta1=fit.averaging_beta1, r_squared=fit.r_squared, significance=significance,
        reason="averaging (no prediction interval in PSP method C) because " + _why_not_regression(fit),
    )


def _why_not_regression(fit: Regression) -> str:
    if fit.n < MIN_POINTS:
        return f"regression needs at least {MIN_POINTS} tasks and there {'is' if fit.n == 1 else 'are'} {fit.n}"
    if not fit.has_line:
        return "every task has the same estimated complexity, so there is no regression line"
    if fit.r_squared < MIN_R_SQUARED:
        return f"the correlation is weak (r² = {fit.r_squared:.2f} < {MIN_R_SQUARED})"
    return f"the correlation is not significant (p = {fit.significance:.3f} > {MAX_SIGNIFICANCE})"


def fits(info: ConnectionInfo, task_type: str | None = None, project_id: str | None = None) -> dict[str, Regression]:
    """The fit of each target over the completed tasks of `task_type` and `project_id` (None:
    any), from marts.mart_probe_fits; a target without data in that scope is left out."""
    query = """
        select target, n, x_avg, sxx, beta0, beta1, r_squared, sigma, t_statistic, averaging_beta1
        from marts.mart_probe_fits
        where task_type is not distinct from %(task_type)s::text
          and project_id is not distinct from %(project_id)s::text
          and n > 0
    """
    with connection.connect(info) as conn:
        connection.require_built(conn, "marts.mart_probe_fits")
        rows = conn.execute(query, {"task_type": task_type, "project_id": project_id}).fetchall()
    fields = list(Regression.model_fields)
    return {target: Regression(**dict(zip(fields, values, strict=True))) for target, *values in rows}


def known_values(info: ConnectionInfo, column: str) -> list[str]:
    """The task types (column 'task_type') or projects ('project_id') of the completed tasks."""
    if column not in ("task_type", "project_id"):
        raise ValueError(column)
    query = sql.SQL("select distinct {column} from marts.mart_probe_fits where {column} is not null order by 1").format(
        column=sql.Identifier(column)
    )
    with connection.connect(info) as conn:
        return [value for (value,) in conn.execute(query).fetchall()]


def _check_known(info: ConnectionInfo, column: str, value: str | None, option: str) -> None:
    if value is None:
        return
    known = known_values(info, column)
    if value not in known:
        what = "task type" if column == "task_type" else "project"
        listed = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
        raise InvalidInput(
            f"no completed task has {what} {value!r}: "
            + (f"known {what}s are {listed}" if known else f"no completed task has a {what} yet")
            + f" (leave {option} out to use every completed task)"
        )


def estimate(
    info: ConnectionInfo, complexity: float, task_type: str | None = None, project_id: str | None = None
) -> Estimate:
    """Project latency, tokens and cost for a new task of estimated `complexity`."""
    if complexity <= 0:
        raise InvalidInput(f"complexity must be positive (got {complexity})")
    fitted = fits(info, task_type, project_id)
    if not fitted:
        _check_known(info, "task_type", task_type, "--task-type")
        _check_known(info, "project_id", project_id, "--project")
    return Estimate(
        complexity=complexity, task_type=task_type, project_id=project_id,
        tasks_used=max((fit.n for fit in fitted.values()), default=0),
        projections=[project(target, fitted.get(target), complexity) for target in TARGETS],
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
        raise InvalidInput("no projection to record (PROBE method D: there is no historical data yet)")
    record = {
        "record": "task_metadata", "task_id": task_id, "status": "pending", "task_type": task_type,
        "project_id": project_id, "task_description": description,
        "estimated_complexity": round(complexity), "estimated_cost_vector_json": vector,
        "metadata": {"estimated_by": "asp-telemetry plan", "methods": {p.target: p.method for p in result.projections}},
    }
    summary = loading.load_records(info, [{k: v for k, v in record.items() if v is not None}], source="plan",
                                   strict=True)
    if summary.status != "complete":
        raise InvalidInput(f"task {task_id} was not recorded: "
                           f"{summary.error or 'rejected (see raw.rejected_records)'}")
    return result
