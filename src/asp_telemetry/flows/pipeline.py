"""`pipeline`: ingest, transform, bootstrap snapshot, transform of the bootstrap marts,
write-back; never two at once on one database.

The full build computes the default snapshot period's metrics (mart_bootstrap_snapshot), so
the snapshot step only records them, unless a period is given; mart_bootstrap_status reads
the recorded rows, so a second, targeted build follows (snapshot.STATUS_MARTS)."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from pydantic import BaseModel

from asp_telemetry import lake
from asp_telemetry.build import BuildResult
from asp_telemetry.flows.bootstrap_snapshot import log_snapshot, take_lake_snapshot, take_snapshot
from asp_telemetry.flows.common import database
from asp_telemetry.flows.ingest import ingest
from asp_telemetry.flows.transform import transform
from asp_telemetry.flows.write_back import write_back
from asp_telemetry.inbox import IngestResult
from asp_telemetry.pipeline_lock import exclusive, exclusive_lake
from asp_telemetry.snapshot import STATUS_MARTS, SnapshotResult
from asp_telemetry.targets import Target, resolve_target
from asp_telemetry.write_back import WriteBackResult


class PipelineResult(BaseModel):
    waited_s: float
    started_at: datetime  # when this pipeline got the lock
    finished_at: datetime  # when it let go
    ingest: IngestResult | None
    build: BuildResult
    snapshot: SnapshotResult | None
    bootstrap_build: BuildResult | None
    write_back: WriteBackResult | None  # none on Spark: the lake is append-only (docs/spark.md)
    target: Target = "postgres"


@flow(name="pipeline")
def pipeline(
    inbox_dir: str | None = None,
    skip_ingest: bool = False,
    skip_snapshot: bool = False,
    snapshot_start: datetime | None = None,
    snapshot_end: datetime | None = None,
    full_refresh: bool = False,
    lock_wait_s: float = 3600.0,
    target: Target | None = None,
) -> PipelineResult:
    logger = get_run_logger()
    if resolve_target(target) == "spark":
        return _on_spark(skip_ingest, inbox_dir, skip_snapshot, snapshot_start, snapshot_end, full_refresh,
                         lock_wait_s)
    with exclusive(database(), wait_s=lock_wait_s) as waited:
        started_at = datetime.now(UTC)
        if waited > 1:
            logger.info("waited %.1f s for another pipeline to finish", waited)
        # the target chosen, not $ASP_TARGET again
        ingested = None if skip_ingest else ingest(inbox_dir, target="postgres")
        built = transform(full_refresh=full_refresh, changed_only=True, target="postgres")
        snapshot = bootstrap_build = None
        if not skip_snapshot:
            default_period = snapshot_start is None and snapshot_end is None
            snapshot = take_snapshot(snapshot_start, snapshot_end, period_built=default_period)
            log_snapshot(snapshot)
            bootstrap_build = transform(select=STATUS_MARTS, unit_tests=False, target="postgres")
        written = write_back()
        finished_at = datetime.now(UTC)
    return PipelineResult(waited_s=waited, started_at=started_at, finished_at=finished_at, ingest=ingested,
                          build=built, snapshot=snapshot, bootstrap_build=bootstrap_build, write_back=written)


def _on_spark(skip_ingest: bool, inbox_dir: str | None, skip_snapshot: bool, snapshot_start: datetime | None,
              snapshot_end: datetime | None, full_refresh: bool, lock_wait_s: float) -> PipelineResult:
    """The pipeline on the Spark target: the inbox into the lake, the build on Spark, the
    bootstrap snapshot (the default period's, or the one asked) recorded into the lake and
    mart_bootstrap_status rebuilt. No
    write-back: the raw tasks are the lake's files, which are never rewritten."""
    logger = get_run_logger()
    with exclusive_lake(lake.lake_dir(), wait_s=lock_wait_s) as waited:
        started_at = datetime.now(UTC)
        if waited > 1:
            logger.info("waited %.1f s for another pipeline to finish", waited)
        ingested = None if skip_ingest else ingest(inbox_dir, target="spark")
        built = transform(full_refresh=full_refresh, target="spark")
        snapshot = bootstrap_build = None
        if not skip_snapshot:
            default_period = snapshot_start is None and snapshot_end is None
            snapshot = take_lake_snapshot(snapshot_start, snapshot_end, period_built=default_period)
            log_snapshot(snapshot)
            bootstrap_build = transform(select=STATUS_MARTS, unit_tests=False, target="spark")
        finished_at = datetime.now(UTC)
    return PipelineResult(waited_s=waited, started_at=started_at, finished_at=finished_at, ingest=ingested,
                          build=built, snapshot=snapshot, bootstrap_build=bootstrap_build, write_back=None,
                          target="spark")

