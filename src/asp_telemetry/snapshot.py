"""Bootstrap snapshots: record each capability's metric for a period into raw.bootstrap_metrics.

Every number is dbt's: int_bootstrap_period holds the period (vars bootstrap_period_start
and bootstrap_period_end, by default the 14 days ending at the build) and
mart_bootstrap_snapshot measures each capability over it (metrics.md, "Bootstrap learning").
This module only builds those two models for the period asked, and copies the mart's rows
into raw.bootstrap_metrics, where the specification keeps snapshots: writing a period again
replaces the rows this module wrote for it, in one transaction. mart_bootstrap_status reads
raw.bootstrap_metrics, so after a snapshot its caller rebuilds STATUS_MARTS.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel

from asp_telemetry import build, connection
from asp_telemetry.build_plan import WITHOUT_UNIT_TESTS
from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.errors import BuildFailed, InvalidInput

SOURCE = "asp-telemetry snapshot"
PERIOD_MODELS = ["int_bootstrap_period", "mart_bootstrap_snapshot"]
# What reads the recorded snapshots: rebuilt after recording one.
STATUS_MARTS = ["mart_bootstrap_status"]


class CapabilitySnapshot(BaseModel):
    capability_name: str
    capability_mode: str
    tasks_completed: int
    tasks_required_for_graduation: int
    primary_metric_name: str
    primary_metric_value: float
    primary_metric_target: float
    direction: str | None
    secondary_metrics: dict[str, float | None]
    graduation_criteria_met: bool
    graduation_notes: str


class SnapshotResult(BaseModel):
    start: datetime
    end: datetime
    measured_at: datetime
    capabilities: list[CapabilitySnapshot]
    replaced_rows: int


def period_vars(start: datetime | None, end: datetime | None) -> list[str]:
    """The dbt arguments that set the snapshot period (none: the models' default period)."""
    if start is not None and end is not None and end <= start:
        raise InvalidInput(f"the period must end after it starts (start {start.isoformat()}, end {end.isoformat()})")
    # the vars need an offset (macros/vars.sql): a naive moment is UTC, as on the command line
    chosen = {name: (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat() for name, moment in
              (("bootstrap_period_start", start), ("bootstrap_period_end", end)) if moment is not None}
    return ["--vars", json.dumps(chosen)] if chosen else []


def build_or_fail(info: ConnectionInfo, dbt_args: Sequence[str], what: str) -> build.BuildResult:
    result = build.run_build(info, list(dbt_args))
    if not result.success:
        failed = ", ".join(node.label for node in result.failed_nodes) or result.error
        raise BuildFailed(f"building {what} failed: {failed}")
    return result


_RECORD = """
    with period as (
        select period_start, period_end from intermediate.int_bootstrap_period
    ),
    replaced as (
        delete from raw.bootstrap_metrics as metrics
        using period
        where metrics.measurement_period_start = period.period_start
          and metrics.measurement_period_end = period.period_end
          and metrics.metadata ->> 'source' = %(source)s
        returning 1
    ),
    recorded as (
        insert into raw.bootstrap_metrics (
            measured_at, measurement_period_start, measurement_period_end, capability_name,
            capability_mode, tasks_completed, tasks_required_for_graduation, primary_metric_name,
            primary_metric_value, primary_metric_target, secondary_metrics_json,
            graduation_criteria_met, graduation_notes, metadata
        )
        select
            %(measured_at)s, measurement_period_start, measurement_period_end, capability_name,
            capability_mode, tasks_completed, tasks_required_for_graduation, primary_metric_name,
            primary_metric_value, primary_metric_target, secondary_metrics_json,
            graduation_criteria_met, graduation_notes,
            jsonb_build_object('source', %(source)s::text, 'direction', direction)
        from marts.mart_bootstrap_snapshot
        returning 1
    )
    select period.period_start, period.period_end, (select count(*) from replaced), (select count(*) from recorded)
    from period
"""

_CAPABILITIES = """
    select capability_name, capability_mode, tasks_completed, tasks_required_for_graduation,
           primary_metric_name, primary_metric_value, primary_metric_target, direction,
           secondary_metrics_json, graduation_criteria_met, graduation_notes
    from marts.mart_bootstrap_snapshot
    order by capability_name
"""


def record(info: ConnectionInfo) -> SnapshotResult:
    """Copy marts.mart_bootstrap_snapshot, as last built, into raw.bootstrap_metrics, replacing
    the rows this module wrote earlier for the same period."""
    with connection.connect(info) as conn, conn.transaction():
        connection.require_built(conn, "marts.mart_bootstrap_snapshot")
        measured_at = conn.execute("select now()").fetchone()[0]
        start, end, replaced, _ = conn.execute(_RECORD, {"source": SOURCE, "measured_at": measured_at}).fetchone()
        fields = list(CapabilitySnapshot.model_fields)
        capabilities = [CapabilitySnapshot(**dict(zip(fields, row, strict=True)))
                        for row in conn.execute(_CAPABILITIES).fetchall()]
    return SnapshotResult(start=start, end=end, measured_at=measured_at, capabilities=capabilities,
                          replaced_rows=replaced)


def take(info: ConnectionInfo, start: datetime | None = None, end: datetime | None = None, *,
         period_built: bool = False, dbt_args: Sequence[str] = ()) -> SnapshotResult:
    """Build the period models for [start, end) (default: the 14 days ending now) and record
    the snapshot. period_built: the caller's build has just built them for the default period
    (the pipeline's full build), so only recording is left. dbt_args go to the build."""
    if not period_built or start is not None or end is not None:
        # a snapshot builds data: the unit tests check the project's code, and belong to CI
        # and `asp-telemetry build`, not to every (scheduled) snapshot
        arguments = ["--select", *PERIOD_MODELS, *period_vars(start, end), *WITHOUT_UNIT_TESTS, *dbt_args]
        build_or_fail(info, arguments, "the snapshot period's models")
    return record(info)
