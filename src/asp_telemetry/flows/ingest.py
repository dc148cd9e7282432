"""`ingest`: load every complete file in the inbox, then archive (or quarantine) it."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from asp_telemetry import inbox, lake
from asp_telemetry.flows.common import database, database_task
from asp_telemetry.inbox import DEFAULT_FILE_TIME_LIMIT_S, InboxFile, IngestResult
from asp_telemetry.targets import Target, resolve_target


@database_task(task_run_name="load {path.name}")
def load_inbox_file(path: Path, time_limit_s: float, target: Target = "postgres") -> InboxFile:
    destination = lake.lake_dir() if target == "spark" else database()
    return inbox.ingest_file(destination, path, time_limit_s)


@flow(name="ingest", log_prints=False)
def ingest(inbox_dir: str | None = None, file_time_limit_s: float = DEFAULT_FILE_TIME_LIMIT_S,
           target: Target | None = None) -> IngestResult:
    """Load the inbox's complete files (`*.tmp` files are still being written and are left).
    `inbox_dir` may only name the configured inbox ($ASP_INBOX or $ASP_HOME/inbox). A file
    that cannot be loaded is quarantined and the others load. target spark ($ASP_TARGET):
    into the lake ($ASP_LAKE) instead of PostgreSQL."""
    logger = get_run_logger()
    chosen = resolve_target(target)
    directory = inbox.configured_inbox(inbox_dir)
    result = IngestResult(inbox=directory)
    for path in inbox.ready_files(directory):
        outcome = load_inbox_file(path, file_time_limit_s, chosen)
        result.files.append(outcome)
        if outcome.outcome == "quarantined":
            logger.warning("%s quarantined: %s", outcome.name, outcome.error)
        else:
            logger.info("%s: %d read: %d loaded, %d updated, %d duplicates, %d rejected", outcome.name, outcome.read,
                        outcome.loaded, outcome.updated, outcome.duplicates, outcome.rejected)
    logger.info("ingested %d file(s) from %s: %d loaded, %d updated, %d duplicates, %d rejected, %d quarantined",
                len(result.files), directory, result.loaded, result.updated, result.duplicates, result.rejected,
                len(result.quarantined))
    return result
