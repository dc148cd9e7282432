"""`asp-telemetry estimate`: PROBE-AI projections for a new task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.padding import Padding

from asp_telemetry import connection
from asp_telemetry.cli import tables as layout
from asp_telemetry.cli.app import app, console, handle_errors

if TYPE_CHECKING:
    from rich.table import Table

    from asp_telemetry.probe import Estimate, Interval

LABELS = {"latency_ms": "latency (ms)", "tokens": "tokens", "api_cost_usd": "cost (USD)"}


def _number(target: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.4f}" if target == "api_cost_usd" else f"{value:,.0f}"


def _interval(target: str, interval: Interval | None) -> str:
    return f"{_number(target, interval.low)} – {_number(target, interval.high)}" if interval else "-"


def print_estimate(estimate: Estimate) -> None:
    console.print(estimate_table(estimate))
    for item in estimate.projections:
        console.print(Padding(f"{LABELS[item.target]}: method {item.method}, {item.reason}", (0, 0, 0, 2)),
                      highlight=False)


def estimate_table(estimate: Estimate) -> Table:
    scope = ", ".join(filter(None, [
        f"task type {estimate.task_type}" if estimate.task_type else None,
        f"project {estimate.project_id}" if estimate.project_id else None,
    ])) or "all completed tasks"
    table = layout.table(
        f"PROBE-AI estimate for complexity {estimate.complexity:g} ({scope})",
        layout.text("target"), layout.number("projection"), layout.text("70% interval"),
        layout.text("90% interval"), layout.text("method"), layout.number("n"), layout.number("r²"),
        layout.number("p"),
    )
    for item in estimate.projections:
        table.add_row(
            LABELS[item.target],
            _number(item.target, item.projection),
            _interval(item.target, item.interval_70),
            _interval(item.target, item.interval_90),
            item.method,
            str(item.n),
            "-" if item.r_squared is None else f"{item.r_squared:.2f}",
            "-" if item.significance is None else f"{item.significance:.3f}",
        )
    return table


@app.command("estimate")
@handle_errors
def estimate(
    complexity: Annotated[float, typer.Option(help="The new task's estimated complexity (the PROBE proxy).")],
    task_type: Annotated[str | None, typer.Option(help="Use only completed tasks of this type.")] = None,
    project: Annotated[str | None, typer.Option(help="Use only completed tasks of this project.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
) -> None:
    """Project latency, tokens and cost for a new task, with 70% and 90% prediction intervals."""
    from asp_telemetry import probe

    result = probe.estimate(connection.resolve(), complexity, task_type=task_type, project_id=project)
    if as_json:
        print(result.model_dump_json(indent=2))
    else:
        print_estimate(result)


@app.command("plan")
@handle_errors
def plan(
    task_id: Annotated[str, typer.Argument(help="The new task's id.")],
    complexity: Annotated[int, typer.Option(help="Its estimated complexity (the PROBE proxy).")],
    task_type: Annotated[str | None, typer.Option(help="Its type; the estimate uses tasks of this type.")] = None,
    project: Annotated[str | None, typer.Option(help="Its project; the estimate uses this project's tasks.")] = None,
    description: Annotated[str | None, typer.Option(help="What the task is.")] = None,
) -> None:
    """Estimate a new task and record it (pending, with its estimate) for later scoring."""
    from asp_telemetry import probe

    result = probe.plan(connection.resolve(), task_id, complexity, task_type=task_type, project_id=project,
                        description=description)
    print_estimate(result)
    console.print(f"recorded task {task_id} (pending) with estimated_cost_vector_json {result.estimated_cost_vector()}",
                  highlight=False)
