"""Where the lake is and how its files are named (docs/loading.md, "The lake").

    <lake>/<dataset>/record_date=YYYY-MM-DD/part-<load_id>-<n>.parquet

A file is written under its name with a leading `.` (which Spark, Hive and pyarrow skip) and
renamed when complete, so that no reader ever sees half a file.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, date, datetime
from pathlib import Path

from asp_telemetry import paths
from asp_telemetry.errors import InvalidInput

LAKE_VARIABLE = "ASP_LAKE"
PARTITION = "record_date"
HIDDEN = "."
SUFFIX = ".parquet"


class LakeNotSupported(InvalidInput):
    """A lake URL this loader cannot write to (s3a://, abfss://: a cluster's, read by Spark)."""


def lake_dir(configured: str | os.PathLike | None = None) -> Path:
    """The lake: `configured`, else $ASP_LAKE, else $ASP_HOME/lake. A cluster's object-store
    URL (s3a://, abfss://) is for Spark to read; this loader writes a local directory
    (docs/spark.md says how to ship it)."""
    text = os.fspath(configured) if configured is not None else os.environ.get(LAKE_VARIABLE, "")
    if not text:
        return paths.asp_home() / "lake"
    if "://" in text and not text.startswith("file://"):
        raise LakeNotSupported(
            f"{LAKE_VARIABLE}={text}: the loader writes a local lake directory only; load into a local "
            "directory and copy it to the object store (docs/spark.md, \"Lake\"), or unset it"
        )
    return Path(text.removeprefix("file://")).expanduser().resolve()


def new_load_id(now: datetime | None = None) -> str:
    """A load's id: its start in UTC to the microsecond, then 8 random hex digits, so that
    ids sort in the order loads started (the order of a task's versions, staging's merge)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"


def dataset_dir(lake: Path, dataset: str) -> Path:
    return lake / dataset


def partition_dir(lake: Path, dataset: str, day: date) -> Path:
    return lake / dataset / f"{PARTITION}={day.isoformat()}"


def part_name(load_id: str, number: int) -> str:
    return f"part-{load_id}-{number:05d}{SUFFIX}"


def hidden(path: Path) -> Path:
    """The name a file is written under until it is complete."""
    return path.with_name(HIDDEN + path.name)


def load_started(name: str) -> datetime | None:
    """When the load that wrote the part file `name` (hidden or not) started, read from its
    load id; None for a name this loader does not give."""
    started = name.removeprefix(HIDDEN).removeprefix("part-").split("-", 1)[0]
    try:
        return datetime.strptime(started, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def warehouse_dir() -> Path:
    """Where the session target's Spark warehouse keeps the marts (`marts.db/<model>/`):
    $ASP_SPARK_DIR/warehouse, else $ASP_HOME/spark/warehouse (lake/session.py)."""
    from asp_telemetry.lake.session import spark_dir

    return spark_dir() / "warehouse"
