"""`asp-telemetry demo`: the whole product on the embedded default, in a few minutes.

Generates a few thousand synthetic tasks into the inbox (once: a second demo reuses the
database), runs the pipeline (ingest, dbt build, bootstrap snapshot, write-back), then
the CLI prints the marts' headline numbers, writes the HTML report and one PROBE estimate.
"""

from __future__ import annotations

from pathlib import Path

from asp_telemetry import connection, generate, migrations, paths, probe
from asp_telemetry.connection import ConnectionInfo

DEMO_SEED = 42
DEMO_TASK_PREFIX = f"SYN-{DEMO_SEED}-"


def prepare_database() -> ConnectionInfo:
    info = connection.resolve()
    migrations.upgrade(info)
    return info


def has_demo_data(info: ConnectionInfo) -> bool:
    with connection.connect(info) as conn:
        return conn.execute(
            "select exists (select 1 from raw.task_metadata where task_id like %s)", [DEMO_TASK_PREFIX + "%"]
        ).fetchone()[0]


def generate_into_inbox(tasks: int) -> generate.GenerateSummary:
    return generate.generate(tasks, DEMO_SEED, paths.inbox_dir(), days=28, tasks_per_file=max(1, tasks // 4))


def typical_estimate(info: ConnectionInfo) -> probe.Estimate | None:
    """A PROBE estimate for a new task of the median estimated complexity seen so far."""
    with connection.connect(info) as conn:
        connection.require_built(conn, "marts.mart_probe_dataset")
        median = conn.execute(
            "select percentile_disc(0.5) within group (order by proxy) from marts.mart_probe_dataset"
        ).fetchone()[0]
    return None if median is None else probe.estimate(info, median)


def report_dir() -> Path:
    return paths.asp_home() / "report"
