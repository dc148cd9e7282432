"""`asp-telemetry init DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from asp_telemetry.cli.app import app, console, handle_errors


@app.command("init")
@handle_errors
def init(
    directory: Annotated[Path, typer.Argument(help="A new (or empty) directory for the project.")],
) -> None:
    """Copy the project (dbt models, seeds, migrations, flows, prefect.yaml) for your team to change."""
    from asp_telemetry.scaffold import init_project

    result = init_project(directory)
    console.print(f"copied the asp-telemetry project into {escape(str(result.directory))}: "
                  f"{', '.join(result.copied)}", highlight=False)
    console.print(
        "Use it (every command reads the project named here):\n"
        f"  export ASP_PROJECT_DIR={escape(str(result.directory))}\n"
        "  asp-telemetry build        # after changing seeds or models\n"
        f"  cd {escape(str(result.directory))} && prefect deploy --all   # to run its flows on a Prefect server",
        highlight=False,
    )
