"""The Typer application, shared console and error handling."""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from asp_telemetry.errors import AspError

app = typer.Typer(
    name="asp-telemetry",
    help="Telemetry and PSP analytics for AI-agent software pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
error_console = Console(stderr=True)


F = TypeVar("F", bound=Callable)


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AspError as exc:  # meant for the user: one clear message; anything else is a bug
            error_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def quiet_prefect(keep_logs: bool = False) -> None:
    """Before Prefect is imported: terminal output stays the CLI's own unless `keep_logs`
    (Prefect's flow logs are still in its UI and API), and no usage telemetry is attempted on
    offline machines. A user's own settings win."""
    if not keep_logs:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's temporary server gets 20 s to start by default, too few on a busy machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def _print_version(value: bool) -> None:
    if value:
        from asp_telemetry import __version__, paths

        try:
            directory, kind = paths.project()
            where = f"project: {directory} ({kind})"
        except AspError as exc:
            where = f"no project: {exc}"
        print(f"asp-telemetry {__version__}, {where}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Telemetry and PSP analytics for AI-agent software pipelines."""


def command(name: str = "asp-telemetry") -> str:
    """How to call `name` (asp-telemetry, dbt) from here: bare when the PATH finds this
    installation's, else its path (`.venv/bin/dbt` in a checkout)."""
    script = Path(sys.argv[0])
    if script.name != "asp-telemetry" or not script.exists():
        return name
    wanted = script.resolve().parent / name
    found = shutil.which(name)
    if found and Path(found).resolve() == wanted.resolve():
        return name
    try:
        return str(wanted.relative_to(Path.cwd()))
    except ValueError:
        return str(wanted)


def main() -> None:
    app(prog_name="asp-telemetry")

