"""`asp-telemetry load PATH...`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from asp_telemetry import connection, loading, migrations
from asp_telemetry.cli.app import app, console, error_console, handle_errors
from asp_telemetry.loading import FileLoadSummary

# Inputs smaller than this load too fast for a progress bar to help.
PROGRESS_MIN_BYTES = 4 << 20


class _Report:
    """Prints each file's summary as it finishes; on a terminal, a progress bar for large files."""

    def __init__(self) -> None:
        self.bar: Progress | None = None
        self.task = None

    def start(self, source: str, total_bytes: int | None) -> None:
        if console.is_terminal and (total_bytes is None or total_bytes >= PROGRESS_MIN_BYTES):
            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                TimeRemainingColumn(), console=console, transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(escape(source), total=total_bytes)

    def advance(self, done_bytes: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done_bytes)

    def finish(self, summary: FileLoadSummary) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        target = console if summary.ok else error_console
        style = "" if summary.ok and not summary.rejected else "[yellow]" if summary.ok else "[bold red]"
        target.print(f"{style}{escape(summary.line())}", highlight=False, soft_wrap=True)


@app.command("load")
@handle_errors
def load(
    paths: Annotated[
        list[str], typer.Argument(help="Files, directories (loaded recursively) or - for stdin; .gz is read as such.")
    ],
    format_: Annotated[
        str | None, typer.Option("--format", help="native, csv, otlp or langfuse (default: detected from the content).")
    ] = None,
    table: Annotated[str | None, typer.Option("--table", help="The raw table a CSV file holds (CSV needs it).")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Any rejected record rolls its whole file back and the command fails.")
    ] = False,
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", min=1, help="Records per COPY batch and commit.")
    ] = loading.DEFAULT_BATCH_ROWS,
) -> None:
    """Load telemetry records into the raw tables: native JSON Lines, CSV, OTLP/JSON, Langfuse exports.

    Records already loaded are skipped; invalid ones go to raw.rejected_records with their reason
    and the rest of the file loads. One summary line per file."""
    info = connection.resolve()
    if info.source == "embedded":
        migrations.upgrade(info)
    summaries = loading.load_paths(
        info, paths, format=format_, table=table, strict=strict, progress=_Report(), batch_rows=batch_rows
    )
    if len(summaries) > 1:
        total = {k: sum(getattr(s, k) for s in summaries) for k in ("loaded", "updated", "duplicates", "rejected")}
        console.print(
            f"{len(summaries)} files: {total['loaded']} loaded, "
            + (f"{total['updated']} updated, " if total["updated"] else "")
            + f"{total['duplicates']} duplicates skipped, {total['rejected']} rejected",
            highlight=False,
            soft_wrap=True,
        )
    if any(s.rejected for s in summaries) and not strict:
        console.print(
            "rejects and their reasons: select * from raw.rejected_records order by id desc",
            highlight=False,
            soft_wrap=True,
        )
    if not all(s.ok for s in summaries):
        raise typer.Exit(1)
