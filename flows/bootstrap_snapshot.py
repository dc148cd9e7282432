"""`bootstrap_snapshot`: each capability's metric for a period, into raw.bootstrap_metrics."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger

from asp_telemetry import snapshot
from asp_telemetry.pipeline_lock import exclusive
from asp_telemetry.snapshot import SnapshotResult
from flows.common import database, database_task


@database_task()
def take_snapshot(start: datetime | None, end: datetime | None) -> SnapshotResult:
    return snapshot.take(database(), start, end)


@flow(name="bootstrap_snapshot")
def bootstrap_snapshot(start: datetime | None = None, end: datetime | None = None) -> SnapshotResult:
    """Snapshot [start, end) (default: the 14 days ending now); re-running a period replaces it."""
    logger = get_run_logger()
    with exclusive(database()):
        result = take_snapshot(start, end)
    for capability in result.capabilities:
        logger.info("%s: %s", capability.capability_name, capability.graduation_notes)
    logger.info("snapshot %s – %s: %d capabilities (%d earlier rows of this period replaced)",
                result.start.isoformat(), result.end.isoformat(), len(result.capabilities), result.replaced_rows)
    return result
