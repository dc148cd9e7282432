"""`bootstrap_snapshot`: each capability's metric for a period, into raw.bootstrap_metrics
(on Spark: the lake's bootstrap_metrics dataset), then mart_bootstrap_status rebuilt from it."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger, task

from asp_telemetry import lake, snapshot
from asp_telemetry.flows.common import database, database_task
from asp_telemetry.flows.transform import transform
from asp_telemetry.pipeline_lock import exclusive, exclusive_lake
from asp_telemetry.snapshot import SnapshotResult
from asp_telemetry.targets import Target, resolve_target


@database_task()
def take_snapshot(start: datetime | None, end: datetime | None, period_built: bool = False) -> SnapshotResult:
    return snapshot.take(database(), start, end, period_built=period_built)


@task()
def take_lake_snapshot(start: datetime | None = None, end: datetime | None = None,
                       period_built: bool = False) -> SnapshotResult:
    """The bootstrap snapshot on Spark, recorded into the lake (asp_telemetry.lake.snapshot)."""
    from asp_telemetry.lake import paths as lake_paths
    from asp_telemetry.lake import snapshot as lake_snapshot

    return lake_snapshot.take(lake.lake_dir(), lake_paths.warehouse_dir(), start, end, period_built=period_built)


def log_snapshot(result: SnapshotResult) -> None:
    logger = get_run_logger()
    for capability in result.capabilities:
        logger.info("%s: %s", capability.capability_name, capability.graduation_notes)
    logger.info("snapshot %s – %s: %d capabilities (%d earlier rows of this period replaced)",
                result.start.isoformat(), result.end.isoformat(), len(result.capabilities), result.replaced_rows)


@flow(name="bootstrap_snapshot")
def bootstrap_snapshot(start: datetime | None = None, end: datetime | None = None,
                       target: Target | None = None) -> SnapshotResult:
    """Snapshot [start, end) (default: the 14 days ending now); re-running a period replaces it.
    target spark ($ASP_TARGET): built on Spark, recorded into the lake."""
    if resolve_target(target) == "spark":
        with exclusive_lake(lake.lake_dir()):
            result = take_lake_snapshot(start, end)
            transform(select=snapshot.STATUS_MARTS, unit_tests=False, target="spark")
        log_snapshot(result)
        return result
    with exclusive(database()):
        result = take_snapshot(start, end)
        # mart_bootstrap_status reads the recorded rows: a table, rebuilt (and tested) now
        transform(select=snapshot.STATUS_MARTS, unit_tests=False, target="postgres")
    log_snapshot(result)
    return result
