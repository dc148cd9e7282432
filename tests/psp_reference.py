"""metrics.md in plain Python: the expected rows of every contract mart, computed from the raw
rows by the definitions, independently of the dbt SQL. The dbt build tests compare the marts
with these.

Numbers are exact (Decimal sums, Fraction ratios); `close` compares them with the marts'.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, getcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

from support import PROJECT_DIR

getcontext().prec = 50
NUMBER_STRING = re.compile(r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$")


def seed(name: str) -> list[dict[str, str]]:
    with (Path(PROJECT_DIR) / "seeds" / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


PHASES = {row["agent_role"]: (int(row["phase_order"]), row["phase_class"]) for row in seed("agent_roles")}
DIRECTIONS = {row["metric_name"]: row["direction"] for row in seed("bootstrap_metric_directions")}
METRIC_COLUMNS = {
    "Latency": "latency_ms",
    "Tokens_In": "tokens_in",
    "Tokens_Out": "tokens_out",
    "API_Cost": "api_cost_usd",
    "Tool_Calls": "tool_calls",
    "Retries": "retries",
}


def order(phase: str | None) -> int | None:
    return PHASES[phase][0] if phase in PHASES else None


def json_number(document: dict | None, *keys: str) -> Decimal | None:
    for key in keys:
        value = (document or {}).get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float, Decimal)):
            return Decimal(str(value))
        if isinstance(value, str) and NUMBER_STRING.match(value):
            return Decimal(value.strip())
    return None


def ratio(numerator, denominator, scale: int = 1) -> Fraction | None:
    if numerator is None or denominator in (None, 0):
        return None
    return Fraction(scale) * Fraction(numerator) / Fraction(denominator)


def _max(values):
    present = [value for value in values if value is not None]
    return max(present) if present else None


def _sum(values, empty=None):
    present = [value for value in values if value is not None]
    return sum(present, Decimal(0)) if present else empty


# ------------------------------------------------------------------------------------------
def executions(cost_rows: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in cost_rows:
        execution_id = (row["metadata"] or {}).get("execution_id")
        key = (row["task_id"], row["subtask_id"], row["agent_role"], row["agent_iteration"], execution_id)
        groups[key].append(row)
    result = []
    for (task_id, subtask_id, agent_role, agent_iteration, execution_id), rows in groups.items():
        execution = {
            "task_id": task_id,
            "subtask_id": subtask_id,
            "agent_role": agent_role,
            "agent_iteration": agent_iteration,
            "execution_id": execution_id,
            "started_at": min(row["timestamp"] for row in rows),
            "llm_model": _max(row["llm_model"] for row in rows),
            "llm_provider": _max(row["llm_provider"] for row in rows),
            "agent_version": _max(row["agent_version"] for row in rows),
            "project_id": _max(row["project_id"] for row in rows),
            "latency_rows": [row["metric_value"] for row in rows if row["metric_type"] == "Latency"],
            "cost_rows": len(rows),
        }
        for metric, column in METRIC_COLUMNS.items():
            execution[column] = _sum(row["metric_value"] for row in rows if row["metric_type"] == metric)
        result.append(execution)
    return result


def expected_marts(raw: dict[str, list[dict]], as_of: datetime,
                  snapshot_period: tuple[datetime, datetime] | None = None) -> dict[str, list[dict]]:
    tasks = {row["task_id"]: row for row in raw["task_metadata"]}
    defects = raw["defect_log"]
    runs = executions(raw["agent_cost_vector"])
    marts: dict[str, list[dict]] = {}

    marts["fct_agent_executions"] = [
        {key: run[key] for key in (
            "task_id", "subtask_id", "agent_role", "agent_iteration", "execution_id", "started_at",
            "latency_ms", "tokens_in", "tokens_out", "api_cost_usd", "tool_calls", "retries",
            "llm_model", "llm_provider", "agent_version",
        )}
        for run in runs
    ]

    # fct_defects ----------------------------------------------------------------------
    fct_defects = []
    for row in defects:
        effort = row["effort_to_fix_json"]
        false_positive = bool(row["false_positive"])
        fct_defects.append({
            "defect_id": row["defect_id"],
            "task_id": row["task_id"],
            "defect_type": row["defect_type"],
            "severity": row["severity"],
            "phase_injected": row["phase_injected"],
            "phase_removed": row["phase_removed"],
            "injected_order": order(row["phase_injected"]),
            "removed_order": order(row["phase_removed"]),
            "component_path": row["component_path"],
            "is_real": not false_positive,
            "flagged_by_agent": bool(row["flagged_by_agent"]),
            "validated_by_human": bool(row["validated_by_human"]),
            "false_positive": false_positive,
            "fix_latency_ms": json_number(effort, "latency_ms"),
            "fix_tokens": json_number(effort, "tokens"),
            "fix_api_cost_usd": json_number(effort, "api_cost_usd", "api_cost"),
            "fix_retries": json_number(effort, "retries"),
            "created_at": row["created_at"],
            "resolved_at": row["resolved_at"],
        })
    marts["fct_defects"] = fct_defects
    real = [defect for defect in fct_defects if defect["is_real"]]

    # fct_task_costs -------------------------------------------------------------------
    runs_by_task: dict[str, list[dict]] = defaultdict(list)
    for run in runs:
        runs_by_task[run["task_id"]].append(run)
    task_ids = set(tasks) | set(runs_by_task) | {defect["task_id"] for defect in fct_defects}
    task_costs = []
    for task_id in task_ids:
        task = tasks.get(task_id, {})
        estimate = task.get("estimated_cost_vector_json")
        task_runs = runs_by_task.get(task_id)

        def total(column, runs=task_runs):
            return _sum((run[column] for run in runs), Decimal(0)) if runs else None

        actual_cost = total("api_cost_usd")
        estimated_cost = json_number(estimate, "api_cost_usd", "api_cost")
        both = actual_cost not in (None, 0) and estimated_cost not in (None, 0)
        defect_count = sum(1 for defect in real if defect["task_id"] == task_id)
        task_costs.append(
            {
                "task_id": task_id,
                "project_id": task.get("project_id")
                or (_max(run["project_id"] for run in task_runs) if task_runs else None),
                "task_type": task.get("task_type"),
                "status": task.get("status"),
                "estimated_complexity": task.get("estimated_complexity"),
                "actual_complexity": task.get("actual_complexity"),
                "actual_latency_ms": total("latency_ms"),
                "actual_tokens_in": total("tokens_in"),
                "actual_tokens_out": total("tokens_out"),
                "actual_tokens": total("tokens_in") + total("tokens_out") if task_runs else None,
                "actual_api_cost_usd": actual_cost,
                "tool_calls": total("tool_calls"),
                "retries": total("retries"),
                "estimated_latency_ms": json_number(estimate, "latency_ms"),
                "estimated_tokens": json_number(estimate, "tokens"),
                "estimated_api_cost_usd": estimated_cost,
                "cost_estimate_error_pct": ratio(actual_cost - estimated_cost, estimated_cost, 100) if both else None,
                "cost_performance_index": ratio(estimated_cost, actual_cost) if both else None,
                "defect_count": defect_count,
                "defect_density": ratio(defect_count, task.get("actual_complexity")),
            }
        )
    marts["fct_task_costs"] = task_costs
    task_costs_by_id = {task["task_id"]: task for task in task_costs}

    # fct_daily_role_costs --------------------------------------------------------------
    daily: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        day = run["started_at"].astimezone(UTC).date()
        daily[(day, run["agent_role"], run["llm_model"])].append(run)
    marts["fct_daily_role_costs"] = [
        {
            "execution_date": day,
            "agent_role": role,
            "llm_model": model,
            "llm_provider": _max(run["llm_provider"] for run in group),
            "tasks_executed": len({run["task_id"] for run in group}),
            "executions": len(group),
            "total_cost_usd": _sum((run["api_cost_usd"] for run in group), Decimal(0)),
            "total_latency_ms": _sum((run["latency_ms"] for run in group), Decimal(0)),
            "total_tokens_in": _sum((run["tokens_in"] for run in group), Decimal(0)),
            "total_tokens_out": _sum((run["tokens_out"] for run in group), Decimal(0)),
        }
        for (day, role, model), group in daily.items()
    ]

    # mart_cost_by_agent_role -----------------------------------------------------------
    window_start = as_of - timedelta(days=30)
    by_role = []
    for role in {run["agent_role"] for run in runs}:
        role_runs = [run for run in runs if run["agent_role"] == role]
        row = {"agent_role": role}
        for suffix, chosen in (("", role_runs), ("_30d", [r for r in role_runs if r["started_at"] >= window_start])):
            latencies = [value for run in chosen for value in run["latency_rows"]]
            row["tasks_executed" + suffix] = len({run["task_id"] for run in chosen})
            row["total_cost_usd" + suffix] = _sum((run["api_cost_usd"] for run in chosen), Decimal(0))
            row["avg_latency_ms" + suffix] = ratio(sum(latencies, Decimal(0)), len(latencies)) if latencies else None
            row["total_tokens" + suffix] = _sum((run["tokens_in"] for run in chosen), Decimal(0)) + _sum(
                (run["tokens_out"] for run in chosen), Decimal(0)
            )
        by_role.append(row)
    marts["mart_cost_by_agent_role"] = by_role

    # mart_defect_density_by_component -------------------------------------------------
    components = []
    for path in {defect["component_path"] for defect in fct_defects} - {None}:
        real_here = [defect for defect in real if defect["component_path"] == path]
        complexities = [
            tasks[d["task_id"]]["actual_complexity"]
            for d in real_here
            if d["task_id"] in tasks and tasks[d["task_id"]]["actual_complexity"] is not None
        ]
        average = Fraction(sum(complexities), len(complexities)) if complexities else None
        components.append({
            "component_path": path,
            "defect_count": len(real_here),
            "avg_complexity": average,
            "defect_density": ratio(len(real_here), average),
            "error_prone": len(real_here) >= 3,
        })
    marts["mart_defect_density_by_component"] = components

    # mart_phase_yield, mart_review_effectiveness, mart_process_yield ----------------------
    def present(defect, phase_order, removed_after=False):
        injected, removed = defect["injected_order"], defect["removed_order"]
        if injected is None or removed is None:
            return False
        return injected < phase_order < removed if removed_after else injected < phase_order <= removed

    phase_yield = {}
    for phase, (phase_order, _) in PHASES.items():
        injected = sum(1 for d in real if d["phase_injected"] == phase)
        removed = sum(1 for d in real if d["phase_removed"] == phase)
        escaped_into = sum(1 for d in real if present(d, phase_order))
        phase_yield[phase] = {
            "phase": phase,
            "phase_order": phase_order,
            "injected": injected,
            "removed": removed,
            "escaped_into": escaped_into,
            "phase_yield_pct": ratio(removed, escaped_into + injected, 100),
        }
    marts["mart_phase_yield"] = list(phase_yield.values())

    def review(phase, phase_order, defects):
        here = [d for d in defects if d["phase_removed"] == phase]
        tp = sum(1 for d in here if d["flagged_by_agent"] and d["validated_by_human"] and d["is_real"])
        fp = sum(1 for d in here if d["flagged_by_agent"] and d["false_positive"])
        pending = sum(1 for d in here if d["flagged_by_agent"] and d["is_real"] and not d["validated_by_human"])
        missed = sum(1 for d in here if not d["flagged_by_agent"] and d["is_real"])
        escapes = sum(1 for d in defects if d["is_real"] and present(d, phase_order, removed_after=True))
        false_negatives = missed + escapes
        return {
            "review_phase": phase,
            "true_positives": tp,
            "false_positives": fp,
            "pending_validation": pending,
            "missed_in_phase": missed,
            "escapes": escapes,
            "false_negatives": false_negatives,
            "precision_pct": ratio(tp, tp + fp, 100),
            "false_positive_rate_pct": ratio(fp, tp + fp, 100),
            "recall_pct": ratio(tp, tp + false_negatives, 100),
            "escape_rate_pct": ratio(false_negatives, tp + false_negatives, 100),
        }

    review_phases = {phase: order for phase, (order, phase_class) in PHASES.items() if phase_class == "appraisal"}
    marts["mart_review_effectiveness"] = [
        review(phase, order, fct_defects) | {"yield_pct": phase_yield[phase]["phase_yield_pct"]}
        for phase, order in review_phases.items()
    ]

    failure_order = min(o for o, c in PHASES.values() if c == "failure")
    removed_before = sum(1 for d in real if d["removed_order"] is not None and d["removed_order"] < failure_order)
    injected_before = sum(1 for d in real if d["injected_order"] is not None and d["injected_order"] < failure_order)
    marts["mart_process_yield"] = [{
        "process_yield_pct": ratio(removed_before, injected_before, 100),
        "real_defects": len(real),
        "removed_before_failure": removed_before,
    }]

    # mart_defect_injection_removal -------------------------------------------------------
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for defect in real:
        cells[(defect["phase_injected"], defect["phase_removed"])].append(defect)

    def average(group, column):
        values = [d[column] for d in group if d[column] is not None]
        return Fraction(sum(values, Decimal(0))) / len(values) if values else None

    marts["mart_defect_injection_removal"] = [
        {
            "phase_injected": injected,
            "phase_removed": removed,
            "defect_count": len(group),
            "avg_fix_latency_ms": average(group, "fix_latency_ms"),
            "avg_fix_tokens": average(group, "fix_tokens"),
            "avg_fix_api_cost_usd": average(group, "fix_api_cost_usd"),
        }
        for (injected, removed), group in cells.items()
    ]

    # mart_cost_of_quality, mart_cost_of_quality_weekly, mart_phase_quality ------------------
    def project_of(run):
        return task_costs_by_id[run["task_id"]]["project_id"] or "(none)"

    def week_of(run):
        day = run["started_at"].astimezone(UTC).date()
        return day - timedelta(days=day.weekday())

    marts["mart_cost_of_quality"] = [
        {"project_id": project} | cost_of_quality([run for run in runs if project in ("(all)", project_of(run))])
        for project in {project_of(run) for run in runs} | {"(all)"}
    ]
    marts["mart_cost_of_quality_weekly"] = [
        {"project_id": project, "week_start": week} | cost_of_quality(
            [run for run in runs if week_of(run) == week and project in ("(all)", project_of(run))])
        for week in {week_of(run) for run in runs}
        for project in {project_of(run) for run in runs if week_of(run) == week} | {"(all)"}
    ]
    marts["mart_phase_quality"] = phase_quality(runs, real)

    # PROBE ------------------------------------------------------------------------------
    dataset = [
        {
            "task_id": t["task_id"],
            "proxy": t["estimated_complexity"],
            "actual_complexity": t["actual_complexity"],
            "actual_latency_ms": t["actual_latency_ms"],
            "actual_tokens": t["actual_tokens"],
            "actual_api_cost_usd": t["actual_api_cost_usd"],
        }
        for t in task_costs
        if t["status"] == "completed"
        and t["estimated_complexity"] is not None
        and t["actual_complexity"] is not None
        and runs_by_task.get(t["task_id"])
    ]
    marts["mart_probe_dataset"] = dataset
    marts["mart_probe_model"] = [
        regression(target, [(row["proxy"], row["actual_" + target]) for row in dataset])
        for target in ("latency_ms", "tokens", "api_cost_usd")
    ]
    # every scope the estimator offers: None is "any"; a task with no type (project) only in "any"
    types = {task_costs_by_id[row["task_id"]]["task_type"] for row in dataset} - {None}
    projects = {task_costs_by_id[row["task_id"]]["project_id"] for row in dataset} - {None}
    scopes = [(None, None)] + [(t, None) for t in types] + [(None, p) for p in projects] + [
        (t, p) for t in types for p in projects]
    fits = []
    for task_type, project_id in scopes:
        rows = [row for row in dataset
                if task_type in (None, task_costs_by_id[row["task_id"]]["task_type"])
                and project_id in (None, task_costs_by_id[row["task_id"]]["project_id"])]
        if not rows and (task_type, project_id) != (None, None):
            continue
        for target in ("latency_ms", "tokens", "api_cost_usd"):
            points = [(row["proxy"], row["actual_" + target]) for row in rows]
            sum_x, sum_y = sum(Fraction(x) for x, _ in points), sum(Fraction(y) for _, y in points)
            fits.append(regression(target, points) | {
                "task_type": task_type,
                "project_id": project_id,
                "averaging_beta1": sum_y / sum_x if sum_x > 0 else None,
            })
    marts["mart_probe_fits"] = fits
    if snapshot_period is not None:
        marts["mart_bootstrap_snapshot"] = bootstrap_snapshot(
            raw, task_costs, fct_defects, dataset, snapshot_period, review)

    # mart_bootstrap_status ----------------------------------------------------------------
    latest: dict[str, dict] = {}
    for row in sorted(raw["bootstrap_metrics"], key=lambda r: (r["measured_at"], r["id"])):
        latest[row["capability_name"]] = row
    statuses = []
    for name, row in latest.items():
        direction = DIRECTIONS.get(row["primary_metric_name"])
        value, target = row["primary_metric_value"], row["primary_metric_target"]
        if row["graduation_criteria_met"]:
            status = "Ready to Graduate"
        elif direction is None:
            status = "Unknown Metric"
        elif (direction == "lower_is_better" and value <= target) or (
            direction == "higher_is_better" and value >= target
        ):
            status = "On Track"
        else:
            status = "Needs Improvement"
        statuses.append({
            "capability_name": name,
            "capability_mode": row["capability_mode"],
            "tasks_completed": row["tasks_completed"],
            "tasks_required_for_graduation": row["tasks_required_for_graduation"],
            "primary_metric_name": row["primary_metric_name"],
            "primary_metric_value": value,
            "primary_metric_target": target,
            "direction": direction,
            "status_indicator": status,
            "measured_at": row["measured_at"],
        })
    marts["mart_bootstrap_status"] = statuses
    return marts


MS_PER_HOUR = 3_600_000


def phase_effort(runs: list[dict], phases: set[str], column: str) -> Decimal:
    """Effort of the executions of `phases` in `column` (latency_ms, or api_cost_usd for money)."""
    return _sum((run[column] for run in runs if run["agent_role"] in phases), Decimal(0))


def cost_of_quality(runs: list[dict]) -> dict:
    """metrics.md "Cost of quality and phase quality", over the executions of one scope."""
    appraisal = {phase for phase, (_, phase_class) in PHASES.items() if phase_class == "appraisal"}
    failure = {phase for phase, (_, phase_class) in PHASES.items() if phase_class == "failure"}
    row: dict[str, Any] = {"tasks": len({run["task_id"] for run in runs}), "executions": len(runs)}
    for column, unit, names in (
        ("latency_ms", "latency_ms", ("appraisal_coq_pct", "failure_coq_pct", "coq_pct", "af_ratio")),
        ("api_cost_usd", "cost_usd", ("appraisal_cost_pct", "failure_cost_pct", "coq_cost_pct", "af_cost_ratio")),
    ):
        total = _sum((run[column] for run in runs), Decimal(0))
        appraisal_effort, failure_effort = phase_effort(runs, appraisal, column), phase_effort(runs, failure, column)
        appraisal_pct, failure_pct = ratio(appraisal_effort, total, 100), ratio(failure_effort, total, 100)
        row |= {
            f"total_{unit}": total,
            f"appraisal_{unit}": appraisal_effort,
            f"failure_{unit}": failure_effort,
            names[0]: appraisal_pct,
            names[1]: failure_pct,
            names[2]: appraisal_pct + failure_pct if total else None,
            names[3]: ratio(appraisal_effort, failure_effort),
        }
    return row


def phase_quality(runs: list[dict], real: list[dict]) -> list[dict]:
    """metrics.md "Cost of quality and phase quality": rates per phase and DRL against the
    failure phases taken together."""
    failure = {phase for phase, (_, phase_class) in PHASES.items() if phase_class == "failure"}
    failure_removed = sum(1 for defect in real if defect["phase_removed"] in failure)
    failure_rate = ratio(failure_removed * MS_PER_HOUR, phase_effort(runs, failure, "latency_ms"))
    rows = []
    for phase, (phase_order, phase_class) in PHASES.items():
        effort_ms = phase_effort(runs, {phase}, "latency_ms")
        effort_usd = phase_effort(runs, {phase}, "api_cost_usd")
        injected = sum(1 for defect in real if defect["phase_injected"] == phase)
        removed = sum(1 for defect in real if defect["phase_removed"] == phase)
        removal_rate = ratio(removed * MS_PER_HOUR, effort_ms)
        rows.append({
            "phase": phase,
            "phase_order": phase_order,
            "phase_class": phase_class,
            "effort_ms": effort_ms,
            "effort_usd": effort_usd,
            "defects_injected": injected,
            "defects_removed": removed,
            "injection_rate_per_hour": ratio(injected * MS_PER_HOUR, effort_ms),
            "removal_rate_per_hour": removal_rate,
            "removal_rate_per_usd": ratio(removed, effort_usd),
            "drl": removal_rate / failure_rate if removal_rate is not None and failure_rate else None,
            "executions": sum(1 for run in runs if run["agent_role"] == phase),
            "failure_removal_rate_per_hour": failure_rate,
        })
    return rows


CAPABILITIES = {row["capability_name"]: row for row in seed("bootstrap_capabilities")}
REVIEW_CAPABILITIES = {"ReviewAgent_Design": "DesignReview", "ReviewAgent_Code": "CodeReview"}


def bootstrap_snapshot(raw, task_costs, fct_defects, dataset, period, review) -> list[dict]:
    """metrics.md "Bootstrap learning": each capability measured over [start, end)."""
    start, end = period
    tasks = {row["task_id"]: row for row in raw["task_metadata"]}
    in_period = {task_id for task_id, row in tasks.items()
                 if start <= (row["completed_at"] or row["created_at"]) < end}
    completed = [t for t in task_costs if t["task_id"] in in_period and t["status"] == "completed"]

    def mape(actual, estimated):
        kept = [t for t in completed if t[actual] not in (None, 0) and t[estimated] is not None]
        value = sum(Fraction(100) * abs(Fraction(t[actual]) - Fraction(t[estimated])) / Fraction(t[actual])
                    for t in kept) / len(kept) if kept else None
        return len(kept), value

    measured = {}
    cost_tasks, cost_mape = mape("actual_api_cost_usd", "estimated_api_cost_usd")
    if cost_tasks:
        fit = regression("api_cost_usd", [(row["proxy"], row["actual_api_cost_usd"])
                                          for row in dataset if row["task_id"] in in_period])
        measured["PROBE_AI"] = (cost_tasks, cost_mape, {
            "tokens_mape": mape("actual_tokens", "estimated_tokens")[1],
            "latency_mape": mape("actual_latency_ms", "estimated_latency_ms")[1],
            "r_squared": fit["r_squared"],
        })
    complexity_tasks, complexity_mape = mape("actual_complexity", "estimated_complexity")
    if complexity_tasks:
        measured["TaskDecomposition"] = (complexity_tasks, complexity_mape, {})
    period_defects = [d for d in fct_defects if d["task_id"] in in_period]
    for capability, phase in REVIEW_CAPABILITIES.items():
        counts = review(phase, PHASES[phase][0], period_defects)
        if counts["precision_pct"] is not None:
            measured[capability] = (len(completed), counts["precision_pct"], {
                "false_positive_rate": counts["false_positive_rate_pct"],
                "escape_rate": counts["escape_rate_pct"],
                "recall": counts["recall_pct"],
            })
    rows = []
    for name, (tasks_completed, value, secondary) in measured.items():
        setting = CAPABILITIES[name]
        direction = DIRECTIONS[setting["primary_metric_name"]]
        target = Fraction(setting["primary_metric_target"])
        meets = value <= target if direction == "lower_is_better" else value >= target
        required = int(setting["tasks_required_for_graduation"])
        rows.append({
            "capability_name": name,
            "capability_mode": setting["capability_mode"],
            "tasks_completed": tasks_completed,
            "tasks_required_for_graduation": required,
            "primary_metric_name": setting["primary_metric_name"],
            "primary_metric_value": (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
                Decimal("0.0001"), rounding=ROUND_HALF_UP),
            "primary_metric_target": target,
            "direction": direction,
            "graduation_criteria_met": tasks_completed >= required and meets,
            "secondary_metrics_json": secondary,
            "measurement_period_start": start,
            "measurement_period_end": end,
        })
    return rows


def regression(target: str, points: list[tuple[Any, Any]]) -> dict:
    n = len(points)
    row: dict[str, Any] = {"target": target, "n": n}
    if n == 0:
        return row | dict.fromkeys(("x_avg", "sxx", "beta0", "beta1", "r_squared", "sigma"))
    xs = [Fraction(x) for x, _ in points]
    ys = [Fraction(y) for _, y in points]
    x_avg, y_avg = sum(xs) / n, sum(ys) / n
    sxx = sum((x - x_avg) ** 2 for x in xs)
    sxy = sum((x - x_avg) * (y - y_avg) for x, y in zip(xs, ys))
    syy = sum((y - y_avg) ** 2 for y in ys)
    beta1 = sxy / sxx if sxx else None
    beta0 = y_avg - beta1 * x_avg if beta1 is not None else None
    r_squared = None if sxx == 0 else (Fraction(1) if syy == 0 else sxy * sxy / (sxx * syy))
    sigma = None
    if n > 2 and beta1 is not None:
        residuals = sum((y - beta0 - beta1 * x) ** 2 for x, y in zip(xs, ys))
        sigma = math.sqrt(residuals / (n - 2))
    return row | {"x_avg": x_avg, "sxx": sxx, "beta0": beta0, "beta1": beta1, "r_squared": r_squared, "sigma": sigma}


def close(actual: Any, expected: Any) -> bool:
    """Equal, numbers within 1e-9 (relative for large ones): the marts round to 12 places.
    JSON objects compare key by key."""
    if expected is None or actual is None:
        return actual is None and expected is None
    if isinstance(expected, dict):
        return isinstance(actual, dict) and set(actual) == set(expected) and all(
            close(actual[key], value) for key, value in expected.items())
    if isinstance(expected, (int, float, Decimal, Fraction)) and not isinstance(expected, bool):
        actual_number, expected_number = Fraction(actual), Fraction(expected)
        return abs(actual_number - expected_number) <= Fraction(1, 10**9) * max(1, abs(expected_number))
    return actual == expected
