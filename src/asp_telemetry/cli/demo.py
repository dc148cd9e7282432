"""`asp-telemetry demo`."""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table

from asp_telemetry import demo as demo_lib
from asp_telemetry.cli.app import app, console, handle_errors


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


@app.command("demo")
@handle_errors
def demo() -> None:
    """Bring up the database, apply the schema, load sample data and show the analytics."""
    with console.status("starting the database and applying the schema"):
        info = demo_lib.prepare_database()
    console.print(f"database: {info.describe()}")
    if demo_lib.load_spec_samples(info):
        console.print("loaded the specification's sample rows")
    else:
        console.print("the specification's sample rows are already loaded")
    for result in demo_lib.run_spec_queries(info):
        table = Table(*result.columns, title=f"Query {result.query.number}: {result.query.title}", title_justify="left")
        for row in result.rows:
            table.add_row(*(_cell(value) for value in row))
        console.print(table)
    console.print(
        "\nExplore further:\n"
        '  eval "$(.venv/bin/asp-telemetry env)"   # PG* variables for psql and dbt\n'
        "  .venv/bin/asp-telemetry db status\n"
        "  .venv/bin/asp-telemetry db stop        # stop the embedded PostgreSQL"
    )
