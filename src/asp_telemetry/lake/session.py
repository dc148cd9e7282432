"""The in-process SparkSession of the Spark target (profiles.yml `spark`, method session).

dbt-spark's session method builds its session as `SparkSession.builder.enableHiveSupport()`
with every `server_side_parameters` entry of the profile as `.config(key, value)`, then
`getOrCreate()`; in a process that has a session already, dbt uses that one. A step that
needs Spark before dbt runs (the price step, asp_telemetry.lake.session_prices) therefore builds it
here with the same settings as profiles.yml, so that the session dbt then finds has the
warehouse and metastore dbt expects (they are fixed when the first session starts).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from asp_telemetry import paths


def spark_dir() -> Path:
    """Where the warehouse and the metastore live: $ASP_SPARK_DIR, else $ASP_HOME/spark."""
    configured = os.environ.get("ASP_SPARK_DIR")
    return Path(configured).expanduser().resolve() if configured else paths.asp_home() / "spark"


def lake_url() -> str:
    """The lake's root: $ASP_LAKE (a directory, or an s3a:// / abfss:// URL), else $ASP_HOME/lake."""
    configured = os.environ.get("ASP_LAKE", "").strip()
    if configured and "://" in configured:
        return configured.rstrip("/")
    return str(Path(configured).expanduser().resolve() if configured else paths.asp_home() / "lake")


def session_settings(directory: Path | None = None) -> dict[str, str]:
    """The Spark settings of profiles.yml's `spark` target (server_side_parameters), with
    the directories resolved. tests/test_spark.py holds the two to each other."""
    directory = directory or spark_dir()
    return {
        "spark.master": os.environ.get("ASP_SPARK_MASTER", "local[2]"),
        "spark.app.name": "asp-telemetry",
        "spark.sql.warehouse.dir": f"{directory}/warehouse",
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={directory}/metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={directory}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": os.environ.get("ASP_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # dbt-spark sets it for every session it opens
        "spark.sql.ansi.enabled": "false",
    }


def get_session(directory: Path | None = None) -> Any:
    """The process's SparkSession (started with session_settings when there is none)."""
    from pyspark.sql import SparkSession

    directory = directory or spark_dir()
    directory.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_settings(directory).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # a failed query (a failing data test's sample, a contract check) is the build's to
    # report: pyspark would log its whole Java stack trace besides
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    spark.sparkContext.setLogLevel("ERROR")
    return spark
