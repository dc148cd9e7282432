"""`bootstrap_snapshot`: each capability's metric for a period, into raw.bootstrap_metrics,
then mart_bootstrap_status rebuilt from it."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger

from asp_telemetry import snapshot
from asp_telemetry.flows.common import database, database_task
from asp_telemetry.flows.transform import transform
from asp_telemetry.pipeline_lock import exclusive
from asp_telemetry.snapshot import SnapshotResult


@database_task()
def take_snapshot(start: datetime | None, end: datetime | None, period_built: bool = False) -> SnapshotResult:
    return snapshot.take(database(), start, end, period_built=period_built)


def log_snapshot(result: SnapshotResult) -> None:
    logger = get_run_logger()
    for capability in result.capabilities:
        logger.info("%s: %s", capability.capability_name, capability.graduation_notes)
    logger.info("snapshot %s – %s: %d capabilities (%d earlier rows of this period replaced)",
                result.start.isoformat(), result.end.isoformat(), len(result.capabilities), result.replaced_rows)


@flow(name="bootstrap_snapshot")
def bootstrap_snapshot(start: datetime | None = None, end: datetime | None = None) -> SnapshotResult:
    """Snapshot [start, end) (default: the 14 days ending now); re-running a period replaces it."""
    with exclusive(database()):
        result = take_snapshot(start, end)
        # mart_bootstrap_status reads the recorded rows: a table, rebuilt (and tested) now
        transform(select=snapshot.STATUS_MARTS, unit_tests=False)
    log_snapshot(result)
    return result
