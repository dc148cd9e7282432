"""`asp-telemetry demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asp_telemetry import demo as demo_lib
from asp_telemetry import paths
from asp_telemetry.cli.app import app, command, console, handle_errors, quiet_prefect


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
    asp, dbt = command(), command("dbt")
    project, kind = paths.project()
    if kind == "packaged":  # read-only: a copy of its own is where a team changes the project
        dbt_line = f"{asp} init my-project    # the dbt project, to change"
    elif project == Path.cwd().resolve():
        dbt_line = f"{dbt} docs generate && {dbt} docs serve"
    else:
        dbt = str(Path(dbt).resolve()) if "/" in dbt else dbt
        dbt_line = f"cd {project} && {dbt} docs generate && {dbt} docs serve"
    console.print(f"\nReport: {report.path}", highlight=False, soft_wrap=True)
    console.print("(open it in a browser; it needs no network)\nExplore further:", highlight=False)
    for line in (
        f'eval "$({asp} env)"    # PG* variables for psql and dbt',
        "psql -c 'select * from marts.mart_review_effectiveness'",
        dbt_line,
        f"{asp} estimate --complexity 25 --task-type api",
        f"{asp} db stop    # stop the embedded PostgreSQL",
    ):
        console.print(f"  {line}", highlight=False, soft_wrap=True)
