"""`retention`: keep the cost partitions made ahead, and drop what the policy says is too old."""

from __future__ import annotations

from prefect import flow, get_run_logger

from asp_telemetry import retention as retention_lib
from asp_telemetry.flows.common import database, database_task
from asp_telemetry.pipeline_lock import exclusive
from asp_telemetry.retention import POLICY_VARIABLE, RetentionResult


@database_task()
def make_partitions_ahead() -> int:
    return retention_lib.make_partitions_ahead(database())


@database_task()
def drop_older_than(period: str) -> RetentionResult:
    return retention_lib.retain(database(), retention_lib.parse_duration(period))


@flow(name="retention")
def retention(older_than: str | None = None) -> RetentionResult | None:
    """Make this week's cost partition and the next four; then, when a policy is set (the
    `older_than` parameter, else ASP_RETENTION: 30d, 12w, 1y), drop the weeks older than it
    (docs/partitions.md). No policy: keep everything."""
    logger = get_run_logger()
    period = older_than or retention_lib.configured_policy()
    if period is not None:
        retention_lib.parse_duration(period)  # a bad policy fails the run before anything changes
    made = make_partitions_ahead()
    if made:
        logger.info("made %d weekly cost partition(s) ahead", made)
    if period is None:
        logger.info("no retention policy (%s unset): everything is kept", POLICY_VARIABLE)
        return None
    with exclusive(database()):
        result = drop_older_than(period)
    logger.info("retention %s: %s", period, result.line())
    return result
