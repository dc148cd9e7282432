"""The Spark target beside PostgreSQL (issue 19): the whole data set loaded into a fresh lake
(`asp-telemetry load --target spark`) and built there (`asp-telemetry build --target spark`,
the session method: Spark inside the process, `local[2]`), against the PostgreSQL load and
first build of the same data set (prepare_main). No goal: on two cores Spark is not faster;
the figures show the path works at this size and what it costs (docs/benchmarks.md)."""

from __future__ import annotations

import os
import shutil
from typing import Any

from bench.harness import CLI, CommandRun, run_command
from bench.measure import Run, lake_row_count


def spark_environment(run: Run) -> dict[str, str]:
    """A lake, a warehouse and an ASP_HOME of the bench's own, fresh."""
    home = run.settings.data_dir / "spark-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return {**os.environ, "ASP_HOME": str(home), "ASP_LAKE": str(home / "lake"),
            "ASP_SPARK_DIR": str(home / "spark")}


def measure_spark(run: Run) -> dict[str, Any]:
    assert run.main is not None and run.main_load is not None and run.main_build is not None
    environment = spark_environment(run)
    run.progress("spark: loading the data set into a lake (asp-telemetry load --target spark)")
    loaded = run_command([*CLI, "load", "--target", "spark", str(run.main.directory)], environment)
    lake_rows = lake_row_count(run.settings.data_dir / "spark-home" / "lake")
    run.progress(f"spark: loaded {lake_rows:,} rows in {loaded.seconds:.1f} s "
                 f"({lake_rows / loaded.seconds:,.0f} rows/s, peak {loaded.peak_rss_mb:.0f} MB)")
    run.progress("spark: first build (asp-telemetry build --target spark)")
    target_path = run.settings.data_dir / "spark-dbt-target"
    built = run_command([*CLI, "build", "--target", "spark", "--target-path", str(target_path)], environment)
    if "passed in" not in built.output:
        raise RuntimeError(f"asp-telemetry build --target spark did not pass:\n{built.output[-3000:]}")
    run.progress(f"spark: first build in {built.seconds:.1f} s wall "
                 f"(PostgreSQL: {run.main_build.seconds:.1f} s)")
    shutil.rmtree(run.settings.data_dir / "spark-home", ignore_errors=True)
    return {
        "engine": "Spark, session method (in-process), local[2]",
        "load": _figures(loaded, lake_rows, run.main_load, run.main_rows),
        "build": {
            "spark_seconds": round(built.seconds, 1),
            "postgresql_seconds": round(run.main_build.seconds, 1),
            "ratio": round(built.seconds / run.main_build.seconds, 2),
            "summary": next((line.strip() for line in built.output.splitlines() if "passed in" in line), ""),
        },
    }


def _figures(lake: CommandRun, lake_rows: int, postgresql: CommandRun, postgresql_rows: int) -> dict[str, Any]:
    return {
        "rows": lake_rows,
        "seconds": round(lake.seconds, 1),
        "rows_per_second": round(lake_rows / lake.seconds),
        "peak_memory_mb": round(lake.peak_rss_mb, 1),
        "postgresql_rows_per_second": round(postgresql_rows / postgresql.seconds),
    }
