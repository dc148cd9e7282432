"""`asp-telemetry generate`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from asp_telemetry import generate as generator
from asp_telemetry.cli.app import app, console, handle_errors


@app.command("generate")
@handle_errors
def generate(
    tasks: Annotated[int, typer.Option(help="How many tasks to simulate.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed and end give the same files.")] = 1,
    out: Annotated[Path, typer.Option(help="Directory for the JSON Lines files.")] = Path("synthetic"),
    days: Annotated[int, typer.Option(help="Task start times spread over this many days before --end.")] = 28,
    end: Annotated[
        datetime | None, typer.Option(help="End of the period (ISO 8601, UTC when no offset); default: this hour.")
    ] = None,
    tasks_per_file: Annotated[int, typer.Option(help="Tasks per output file.")] = 10_000,
    workers: Annotated[int | None, typer.Option(help="Processes writing files (default: one per core).")] = None,
) -> None:
    """Write realistic synthetic telemetry (native JSON Lines) for TASKS simulated tasks."""
    if end is not None and end.tzinfo is None:
        from datetime import UTC

        end = end.replace(tzinfo=UTC)
    with Progress(
        TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TextColumn("tasks"), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    ) as progress:
        bar = progress.add_task("generate", total=tasks)
        summary = generator.generate(
            tasks, seed, out, days=days, end=end, tasks_per_file=tasks_per_file, workers=workers,
            on_progress=lambda done: progress.update(bar, completed=done),
        )
    counts = ", ".join(f"{count:,} {table}" for table, count in summary.records.items())
    console.print(
        f"wrote {len(summary.files)} file(s) to {out}: {counts} "
        f"(tasks from {summary.start:%Y-%m-%d %H:%M} to {summary.end:%Y-%m-%d %H:%M} UTC)"
    )
