"""The lake's ledger of loads (`<lake>/loads/`): one row per file or record stream, written
when its load ends, with what PostgreSQL's raw.loads holds (its id is a string that sorts in
load order: lake.paths.new_load_id)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from asp_telemetry.lake import paths as lake_paths
from asp_telemetry.lake.files import write_visible
from asp_telemetry.lake.schemas import LOADS_SCHEMA
from asp_telemetry.loading.rejects import storable
from asp_telemetry.loading.summary import LoadSummary

LOADS = "loads"


def record_load(lake: Path, summary: LoadSummary, *, started_at: datetime, format: str | None,
                content_sha256: str | None, size_bytes: int | None, table_name: str | None,
                strict: bool, source: str | None = None) -> None:
    """Write the load's ledger row (a file of its own, made visible whole)."""
    finished_at = datetime.now(UTC)
    if not summary.conserved and summary.error is None:
        accounted = summary.loaded + summary.updated + summary.duplicates + summary.rejected
        summary.error = (
            f"{summary.read} records read but {accounted} accounted for: this is a bug in the loader, please report it"
        )
    row = {
        "load_id": str(summary.load_id), "source": storable(source or summary.source),
        "content_sha256": content_sha256, "size_bytes": size_bytes, "format": format, "table_name": table_name,
        "strict": strict, "started_at": started_at, "finished_at": finished_at, "status": summary.status,
        "records_read": summary.read, "loaded": summary.loaded, "updated": summary.updated,
        "duplicates": summary.duplicates, "rejected": summary.rejected,
        "error": storable(summary.error) if summary.error else None,
    }
    table = pa.Table.from_pylist([row], schema=LOADS_SCHEMA)
    write_visible(table, lake_paths.partition_dir(lake, LOADS, started_at.date())
                  / lake_paths.part_name(str(summary.load_id), 0))
