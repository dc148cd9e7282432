"""Bootstrap snapshots: each capability's metric for a period, written to raw.bootstrap_metrics.

Definitions: metrics.md, "Bootstrap learning". A task belongs to the period [start, end) when
its completed_at (or created_at while it has none) falls inside it. Targets, modes, the tasks
required and each metric's direction come from the dbt seeds `bootstrap_capabilities` and
`bootstrap_metric_directions`. A capability whose inputs are absent in the period gets no row.
Writing a period again replaces the rows this module wrote for it, in one transaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel

from asp_telemetry import connection
from asp_telemetry.connection import ConnectionInfo

SOURCE = "asp-telemetry snapshot"
DEFAULT_PERIOD = timedelta(days=14)
# The review phase each review agent capability is measured on.
REVIEW_CAPABILITIES = {"ReviewAgent_Design": "DesignReview", "ReviewAgent_Code": "CodeReview"}

PERIOD_TASKS = """
    select *
    from marts.fct_task_costs
    where coalesce(completed_at, created_at) >= %(start)s
      and coalesce(completed_at, created_at) < %(end)s
"""

# MAPE over the period's completed tasks, each leaving out tasks whose actual is 0 or NULL or
# whose estimate is NULL (metrics.md).
ESTIMATION_SQL = f"""
    with period_tasks as ({PERIOD_TASKS}),
    completed as (select * from period_tasks where status = 'completed')
    select
        count(*) filter (where actual_api_cost_usd > 0 and estimated_api_cost_usd is not null),
        avg(100 * abs(actual_api_cost_usd - estimated_api_cost_usd) / actual_api_cost_usd)
            filter (where actual_api_cost_usd > 0 and estimated_api_cost_usd is not null),
        avg(100 * abs(actual_tokens - estimated_tokens) / actual_tokens)
            filter (where actual_tokens > 0 and estimated_tokens is not null),
        avg(100 * abs(actual_latency_ms - estimated_latency_ms) / actual_latency_ms)
            filter (where actual_latency_ms > 0 and estimated_latency_ms is not null),
        regr_r2(actual_api_cost_usd, estimated_complexity)
            filter (where actual_complexity is not null and cost_rows > 0),
        count(*) filter (where actual_complexity > 0 and estimated_complexity is not null),
        avg(100.0 * abs(actual_complexity - estimated_complexity) / actual_complexity)
            filter (where actual_complexity > 0 and estimated_complexity is not null),
        count(*)
    from completed
"""

# A review phase's outcomes over the defects of all the period's tasks (the per-task counts
# are dbt's intermediate.int_review_outcomes, which mart_review_effectiveness sums too).
REVIEW_SQL = f"""
    with period_tasks as ({PERIOD_TASKS})
    select
        coalesce(sum(outcome.true_positives), 0),
        coalesce(sum(outcome.false_positives), 0),
        coalesce(sum(outcome.missed_in_phase), 0),
        coalesce(sum(outcome.escapes), 0)
    from intermediate.int_review_outcomes as outcome
    join period_tasks using (task_id)
    where outcome.review_phase = %(review_phase)s
"""


class CapabilitySetting(BaseModel):
    capability_name: str
    primary_metric_name: str
    direction: str
    primary_metric_target: float
    tasks_required_for_graduation: int
    capability_mode: str


class CapabilitySnapshot(BaseModel):
    capability_name: str
    capability_mode: str
    tasks_completed: int
    tasks_required_for_graduation: int
    primary_metric_name: str
    primary_metric_value: float
    primary_metric_target: float
    direction: str
    secondary_metrics: dict[str, float | None]
    graduation_criteria_met: bool
    graduation_notes: str


class SnapshotResult(BaseModel):
    start: datetime
    end: datetime
    measured_at: datetime
    capabilities: list[CapabilitySnapshot]
    replaced_rows: int


def default_period(now: datetime | None = None) -> tuple[datetime, datetime]:
    end = now or datetime.now(UTC)
    return end - DEFAULT_PERIOD, end


def meets_target(value: float, target: float, direction: str) -> bool:
    return value <= target if direction == "lower_is_better" else value >= target


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else 100.0 * numerator / denominator


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _settings(conn) -> dict[str, CapabilitySetting]:
    rows = conn.execute(
        """
        select capability_name, primary_metric_name, direction, primary_metric_target,
               tasks_required_for_graduation, capability_mode
        from staging.bootstrap_capabilities
        """
    ).fetchall()
    fields = list(CapabilitySetting.model_fields)
    return {row[0]: CapabilitySetting(**dict(zip(fields, row, strict=True))) for row in rows}


def compute(info: ConnectionInfo, start: datetime, end: datetime) -> list[CapabilitySnapshot]:
    """Every capability with inputs in [start, end), evaluated against its seed settings."""
    if end <= start:
        raise ValueError(f"the period must end after it starts (start {start.isoformat()}, end {end.isoformat()})")
    period = {"start": start, "end": end}
    with connection.connect(info) as conn:
        connection.require_built(conn, "marts.fct_task_costs")
        settings = _settings(conn)
        (cost_tasks, cost_mape, tokens_mape, latency_mape, cost_r2,
         complexity_tasks, complexity_mape, completed_tasks) = conn.execute(ESTIMATION_SQL, period).fetchone()
        measured: dict[str, tuple[int, float, dict[str, float | None]]] = {}
        if cost_tasks:
            measured["PROBE_AI"] = (cost_tasks, float(cost_mape), {
                "tokens_mape": _float(tokens_mape), "latency_mape": _float(latency_mape),
                "r_squared": _float(cost_r2),
            })
        if complexity_tasks:
            measured["TaskDecomposition"] = (complexity_tasks, float(complexity_mape), {})
        for capability, review_phase in REVIEW_CAPABILITIES.items():
            true_positives, false_positives, missed, escapes = (
                int(count) for count in conn.execute(REVIEW_SQL, {**period, "review_phase": review_phase}).fetchone()
            )
            false_negatives = missed + escapes
            precision = _ratio(true_positives, true_positives + false_positives)
            if precision is None:
                continue  # the review agent flagged nothing in the period
            measured[capability] = (completed_tasks, precision, {
                "false_positive_rate": _ratio(false_positives, true_positives + false_positives),
                "escape_rate": _ratio(false_negatives, true_positives + false_negatives),
                "recall": _ratio(true_positives, true_positives + false_negatives),
            })
    snapshots = []
    for name, (tasks, value, secondary) in measured.items():
        setting = settings.get(name)
        if setting is None:
            continue  # not configured in the seed
        met = meets_target(value, setting.primary_metric_target, setting.direction)
        graduated = tasks >= setting.tasks_required_for_graduation and met
        comparison = "meets" if met else "misses"
        snapshots.append(CapabilitySnapshot(
            capability_name=name, capability_mode=setting.capability_mode, tasks_completed=tasks,
            tasks_required_for_graduation=setting.tasks_required_for_graduation,
            primary_metric_name=setting.primary_metric_name, primary_metric_value=round(value, 4),
            primary_metric_target=setting.primary_metric_target, direction=setting.direction,
            secondary_metrics=secondary, graduation_criteria_met=graduated,
            graduation_notes=(
                f"{tasks} of {setting.tasks_required_for_graduation} tasks; {setting.primary_metric_name} "
                f"{value:.2f} {comparison} the target {setting.primary_metric_target:g} "
                f"({setting.direction.replace('_', ' ')})"
            ),
        ))
    return sorted(snapshots, key=lambda s: s.capability_name)


def write(info: ConnectionInfo, start: datetime, end: datetime, snapshots: list[CapabilitySnapshot],
          measured_at: datetime | None = None) -> int:
    """Replace this period's snapshot rows with `snapshots`; returns how many rows were replaced."""
    measured_at = measured_at or datetime.now(UTC)
    with connection.connect(info) as conn, conn.transaction():
        replaced = conn.execute(
            """
            delete from raw.bootstrap_metrics
            where measurement_period_start = %s and measurement_period_end = %s
              and metadata ->> 'source' = %s
            """,
            [start, end, SOURCE],
        ).rowcount
        with conn.cursor() as cursor:
            cursor.executemany(
                """
                insert into raw.bootstrap_metrics (
                    measured_at, measurement_period_start, measurement_period_end, capability_name,
                    capability_mode, tasks_completed, tasks_required_for_graduation, primary_metric_name,
                    primary_metric_value, primary_metric_target, secondary_metrics_json,
                    graduation_criteria_met, graduation_notes, metadata
                ) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                """,
                [
                    (measured_at, start, end, s.capability_name, s.capability_mode, s.tasks_completed,
                     s.tasks_required_for_graduation, s.primary_metric_name, s.primary_metric_value,
                     s.primary_metric_target, json.dumps(s.secondary_metrics), s.graduation_criteria_met,
                     s.graduation_notes, json.dumps({"source": SOURCE, "direction": s.direction}))
                    for s in snapshots
                ],
            )
    return replaced


def take(info: ConnectionInfo, start: datetime | None = None, end: datetime | None = None) -> SnapshotResult:
    """Compute and write the snapshot of [start, end) (default: the 14 days ending now)."""
    default_start, default_end = default_period()
    start, end = start or (end - DEFAULT_PERIOD if end else default_start), end or default_end
    measured_at = datetime.now(UTC)
    snapshots = compute(info, start, end)
    replaced = write(info, start, end, snapshots, measured_at)
    return SnapshotResult(start=start, end=end, measured_at=measured_at, capabilities=snapshots,
                          replaced_rows=replaced)
