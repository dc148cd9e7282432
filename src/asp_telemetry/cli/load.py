"""`asp-telemetry load PATH...`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from asp_telemetry import connection, loading, migrations
from asp_telemetry.cli.app import app, console, error_console, handle_errors
from asp_telemetry.loading import FileLoadSummary
from asp_telemetry.targets import resolve_target

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
        warn = summary.rejected or summary.status == "skipped"
        style = "" if summary.ok and not warn else "[yellow]" if summary.ok else "[bold red]"
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
    max_record_bytes: Annotated[int, typer.Option(
        "--max-record-bytes", min=1, help="A longer record (native line, CSV row) is rejected with an excerpt.",
    )] = loading.DEFAULT_MAX_RECORD_BYTES,
    max_document_bytes: Annotated[int, typer.Option(
        "--max-document-bytes", min=1, help="OTLP and Langfuse inputs are read whole: a larger one fails.",
    )] = loading.DEFAULT_MAX_DOCUMENT_BYTES,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", min=1, help="Seconds one file may take (default: no limit).",
    )] = None,
    follow_links: Annotated[bool, typer.Option(
        "--follow-links", help="In a directory, follow symbolic links that point outside it.",
    )] = False,
    target: Annotated[str | None, typer.Option(
        "--target", help="postgres (the raw tables) or spark (Parquet on the lake, $ASP_LAKE); default $ASP_TARGET.",
    )] = None,
) -> None:
    """Load telemetry records into the raw tables: native JSON Lines, CSV, OTLP/JSON, Langfuse exports.

    Records already loaded are skipped; invalid ones go to raw.rejected_records with their reason
    and the rest of the file loads. One summary line per file. With --target spark the same
    validation writes Parquet files on the lake (appended: staging skips what was loaded)."""
    limits = loading.Limits(
        max_record_bytes=max_record_bytes, max_document_bytes=max_document_bytes, time_limit_s=time_limit,
    )
    options = dict(format=format_, table=table, strict=strict, progress=_Report(), batch_rows=batch_rows,
                   limits=limits, follow_links=follow_links)
    if resolve_target(target) == "spark":
        from asp_telemetry import lake

        directory = lake.lake_dir()
        console.print(f"loading into the lake {directory}", highlight=False, soft_wrap=True)
        summaries = lake.load_paths(directory, paths, **options)
        rejects_hint = f"rejects and their reasons: the rejected_records dataset in {directory}"
    else:
        info = connection.resolve()
        if info.source == "embedded":
            migrations.upgrade(info)
        summaries = loading.load_paths(info, paths, **options)
        rejects_hint = "rejects and their reasons: select * from raw.rejected_records order by id desc"
    loaded = [s for s in summaries if s.status != "skipped"]
    if len(loaded) > 1:
        total = {k: sum(getattr(s, k) for s in loaded) for k in ("read", "loaded", "updated", "duplicates", "rejected")}
        rolled_back = sum(s.read - s.rejected for s in loaded if s.status == "rolled_back")
        console.print(
            f"{len(loaded)} files: {total['read']} read: {total['loaded']} loaded, "
            + (f"{total['updated']} updated, " if total["updated"] else "")
            + f"{total['duplicates']} duplicates skipped, {total['rejected']} rejected"
            + (f", {rolled_back} rolled back" if rolled_back else ""),
            highlight=False,
            soft_wrap=True,
        )
    if any(s.rejected for s in summaries) and not strict:
        console.print(
            rejects_hint,
            highlight=False,
            soft_wrap=True,
        )
    if not all(s.ok for s in summaries):
        raise typer.Exit(1)
