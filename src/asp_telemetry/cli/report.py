"""`asp-telemetry report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asp_telemetry import connection
from asp_telemetry.cli.app import app, console, handle_errors


@app.command("report")
@handle_errors
def report(
    out: Annotated[Path, typer.Option(help="Directory for index.html.")] = Path("report"),
) -> None:
    """Write a self-contained HTML dashboard (opens from disk: no network, no server)."""
    from asp_telemetry.report import write_report

    result = write_report(connection.resolve(), out)
    if not result.built:
        console.print("the marts are not built yet: the report says so (run `asp-telemetry build`)")
    elif result.empty_panels:
        console.print(f"no data yet for: {', '.join(result.empty_panels)}")
    console.print(f"report written to {result.path}")
