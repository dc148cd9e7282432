"""`asp-telemetry demo`."""

from __future__ import annotations

from typing import Annotated

import typer

from asp_telemetry import demo as demo_lib
from asp_telemetry.cli.app import app, console, handle_errors, quiet_prefect


@app.command("demo")
@handle_errors
def demo(
    tasks: Annotated[int, typer.Option(help="Synthetic tasks to generate on the first run.")] = 3000,
) -> None:
    """The whole product on the database in use: synthetic data, the pipeline, the analytics."""
    quiet_prefect()
    from asp_telemetry.cli.estimate import print_estimate
    from asp_telemetry.cli.summary import print_marts_summary, print_pipeline_result
    from asp_telemetry.flows.pipeline import pipeline
    from asp_telemetry.report import data as report_data
    from asp_telemetry.report import write_report

    with console.status("starting the database and applying the schema"):
        info = demo_lib.prepare_database()
    console.print(f"database: {info.describe()}")
    if demo_lib.has_demo_data(info):
        console.print("synthetic demo data already loaded: reusing it")
    else:
        with console.status(f"generating {tasks:,} synthetic tasks"):
            generated = demo_lib.generate_into_inbox(tasks)
        console.print(f"generated {tasks:,} synthetic tasks ({sum(generated.records.values()):,} records) into "
                      f"{generated.files[0].parent}")
    console.print("running the pipeline (Prefect starts a temporary server first, about 15 s)")
    print_pipeline_result(pipeline())

    print_marts_summary(report_data.read(info))
    report = write_report(info, demo_lib.report_dir())
    estimate = demo_lib.typical_estimate(info)
    if estimate is not None:
        console.print()
        print_estimate(estimate)
    console.print(
        f"\nReport: {report.path} (open it in a browser; it needs no network)\n"
        "Explore further:\n"
        '  eval "$(.venv/bin/asp-telemetry env)"     # PG* variables for psql and dbt\n'
        "  psql -c 'select * from marts.mart_review_effectiveness'\n"
        "  .venv/bin/dbt docs generate && .venv/bin/dbt docs serve   # after the eval above\n"
        "  .venv/bin/asp-telemetry estimate --complexity 25 --task-type api\n"
        "  .venv/bin/asp-telemetry db stop          # stop the embedded PostgreSQL",
        highlight=False,
    )
