"""`asp-telemetry build [dbt args...]`: dbt build in-process, and a short summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from asp_telemetry import connection
from asp_telemetry.cli.app import app, console, error_console, handle_errors
from asp_telemetry.errors import InvalidInput

if TYPE_CHECKING:
    from asp_telemetry.build import BuildResult


@app.command(
    "build",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
@handle_errors
def build(
    ctx: typer.Context,
    show_dbt_log: Annotated[
        bool, typer.Option("--show-dbt-log", help="Print dbt's own log (it always goes to the project's logs/dbt.log).")
    ] = False,
    target: Annotated[
        str, typer.Option("--target", envvar="ASP_TARGET", help="Where to build: default (PostgreSQL) or spark "
                          "(the lake, on Spark: docs/spark.md).")
    ] = "default",
    changed_only: Annotated[
        bool, typer.Option("--changed-only", help="Only what changed since the last such build, as the "
                           "schedule builds (no unit tests; nothing when nothing changed).")
    ] = False,
) -> None:
    """Build the dbt project (seeds, models, data and unit tests) on the database in use.

    Other arguments go to `dbt build` unchanged: asp-telemetry build --select marts --full-refresh
    """
    from asp_telemetry import build as build_lib
    from asp_telemetry import build_plan

    target = build_lib.check_target(target)
    if changed_only and ctx.args:
        raise InvalidInput("--changed-only selects by itself: give it no dbt arguments")
    if target == "spark":
        if changed_only:
            raise InvalidInput("--changed-only plans builds on PostgreSQL only: build on Spark without it")
        from asp_telemetry.lake import session as lake_session

        info = None
        console.print("dbt build on Spark", highlight=False)
        console.print(f"  lake: {escape(lake_session.lake_url())}", highlight=False, soft_wrap=True)
        console.print(f"  warehouse: {escape(str(lake_session.spark_dir() / 'warehouse'))}", highlight=False,
                      soft_wrap=True)
    else:
        info = connection.resolve()
        console.print(f"dbt build on {info.describe()}")
    with console.status("dbt build: parsing the project") as status:

        def show_progress(done: int, total: int | None, node: str) -> None:
            status.update(f"dbt build: {done}{f'/{total}' if total else ''} nodes done ({escape(node)})")

        if changed_only:
            planned, result = build_plan.run_planned_build(info, on_progress=show_progress)
            console.print(f"planned: {escape(planned.reason)}", highlight=False, soft_wrap=True)
            for line in planned.note_lines():
                console.print(escape(line), highlight=False, soft_wrap=True)
        else:
            result = build_lib.run_build(info, ctx.args, show_dbt_log=show_dbt_log, on_progress=show_progress,
                                         target=target)

    if result.error:
        error_console.print(
            f"[bold red]dbt could not build:[/] {escape(result.error)}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1)
    console.print(_summary_line(result), highlight=False, soft_wrap=True)
    if result.prices is not None:
        prices = result.prices
        console.print(f"prices: {prices.priced} of {prices.models_seen} model(s) priced ({prices.source}"
                      " or the custom seed)", highlight=False)
        if prices.changed:
            console.print("  prices changed since the last build: every cost was rebuilt", highlight=False)
        if prices.unpriced:
            console.print(f"  [yellow]{len(prices.unpriced)} model(s) without a price[/]: see asp-telemetry prices",
                          highlight=False)
    for title, nodes, style in (("failed", result.failed_nodes, "bold red"), ("warned", result.warned_nodes, "yellow")):
        if not nodes:
            continue
        console.print(f"[{style}]{title}:[/]")
        for node in nodes:
            console.print(f"  {node.resource_type} {escape(node.label)}", highlight=False, soft_wrap=True)
            details = node.failing_row_messages() or _first_lines(node.message)
            for line in details:
                console.print(f"      {escape(line)}", highlight=False, soft_wrap=True)
            if node.failures and node.failures > len(node.failing_rows) and node.failing_rows:
                console.print(f"      ... {node.failures} failing rows in all", highlight=False, soft_wrap=True)
    if not result.success:
        raise typer.Exit(1)


def _summary_line(result: BuildResult) -> str:
    line = escape(result.summary_line())
    if result.success:
        return line.replace("passed", "[green]passed[/]", 1)
    return line.replace("FAILED", "[bold red]FAILED[/]", 1)


def _first_lines(message: str | None, limit: int = 12) -> list[str]:
    if not message:
        return []
    lines = message.strip().splitlines()
    if len(lines) <= limit:
        return lines
    from asp_telemetry import paths

    return [*lines[:limit], f"... ({len(lines) - limit} more lines in {paths.dbt_log_file()})"]
