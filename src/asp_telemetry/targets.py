"""Where the pipeline runs: `postgres` (the raw tables and marts in PostgreSQL) or `spark` (raw
data as Parquet on the lake, marts built by dbt-spark; docs/spark.md). `--target` on the
command line, else $ASP_TARGET, else postgres."""

from __future__ import annotations

import os
from typing import Literal

from asp_telemetry.errors import InvalidInput

TARGET_VARIABLE = "ASP_TARGET"
Target = Literal["postgres", "spark"]
TARGETS: tuple[Target, ...] = ("postgres", "spark")


def resolve_target(given: str | None = None) -> Target:
    """The target asked for (`given`, else $ASP_TARGET, else postgres), checked."""
    value = (given or os.environ.get(TARGET_VARIABLE) or "postgres").strip().lower()
    if value not in TARGETS:
        where = "--target" if given else TARGET_VARIABLE
        raise InvalidInput(f"{where}={value!r}: unknown target; use one of {', '.join(TARGETS)}")
    return value  # type: ignore[return-value]
