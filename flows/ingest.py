"""`ingest`: load every complete file in the inbox, then archive (or quarantine) it."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from asp_telemetry import inbox, paths
from asp_telemetry.inbox import InboxFile, IngestResult
from flows.common import database, database_task


@database_task(task_run_name="load {path.name}")
def load_inbox_file(path: Path) -> InboxFile:
    return inbox.ingest_file(database(), path)


@flow(name="ingest", log_prints=False)
def ingest(inbox_dir: str | None = None) -> IngestResult:
    """Load the inbox's complete files (`*.tmp` files are still being written and are left)."""
    logger = get_run_logger()
    directory = Path(inbox_dir) if inbox_dir else paths.inbox_dir()
    result = IngestResult(inbox=directory)
    for path in inbox.ready_files(directory):
        outcome = load_inbox_file(path)
        result.files.append(outcome)
        if outcome.outcome == "quarantined":
            logger.warning("%s quarantined: %s", outcome.name, outcome.error)
        else:
            logger.info("%s: %d loaded, %d duplicates, %d rejected", outcome.name, outcome.loaded,
                        outcome.duplicates, outcome.rejected)
    logger.info("ingested %d file(s) from %s: %d loaded, %d duplicates, %d rejected, %d quarantined",
                len(result.files), directory, result.loaded, result.duplicates, result.rejected,
                len(result.quarantined))
    return result
