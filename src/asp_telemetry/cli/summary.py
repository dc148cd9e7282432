"""Readable terminal summaries: a pipeline run, and the marts' headline numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.table import Table

from asp_telemetry.cli import tables as layout
from asp_telemetry.cli.app import console

if TYPE_CHECKING:
    from asp_telemetry.flows.pipeline import PipelineResult
    from asp_telemetry.report.data import ReportData


def _fmt(value: Any, kind: str = "") -> str:
    if value is None:
        return "-"
    if kind == "usd":
        return f"${float(value):,.2f}"
    if kind == "pct":
        return f"{float(value):.1f}%"
    if isinstance(value, float | Decimal):
        return f"{float(value):,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_pipeline_result(result: PipelineResult) -> None:
    if result.ingest is not None:
        ingest = result.ingest
        console.print(
            f"ingest: {len(ingest.files)} file(s) from {ingest.inbox}: {ingest.loaded:,} loaded, "
            f"{ingest.updated:,} updated, {ingest.duplicates:,} duplicates skipped, {ingest.rejected:,} rejected, "
            f"{len(ingest.quarantined)} quarantined"
        )
        for item in ingest.quarantined:
            console.print(f"  [yellow]quarantined[/] {item.name}: {item.error}", highlight=False)
    console.print(f"build: {result.build.summary_line()}")
    if result.snapshot is not None:
        console.print(f"bootstrap snapshot {result.snapshot.start:%Y-%m-%d} – {result.snapshot.end:%Y-%m-%d}: "
                      f"{len(result.snapshot.capabilities)} capabilities")
    if result.write_back is not None:
        console.print(f"write-back: {result.write_back.tasks_updated:,} task(s) updated")


def _ratio(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f}"


def print_quality_headline(cost_of_quality: list[dict], phase_quality: list[dict]) -> None:
    """Cost of quality and A/FR of all projects, and the review phases' DRL (metrics.md,
    "Cost of quality and phase quality"): a few short lines."""
    everything = next((row for row in cost_of_quality if row["project_id"] == "(all)"), None)
    if everything is None:
        return
    console.print(
        f"\n[bold]Cost of quality[/]: {_fmt(everything['coq_pct'], 'pct')} of time "
        f"(reviews {_fmt(everything['appraisal_coq_pct'], 'pct')}, tests {_fmt(everything['failure_coq_pct'], 'pct')}),"
        f" {_fmt(everything['coq_cost_pct'], 'pct')} of cost",
        highlight=False,
    )
    console.print(f"A/FR: {_ratio(everything['af_ratio'])} in time, {_ratio(everything['af_cost_ratio'])} in cost "
                  "(PSP guideline: above 2)", highlight=False)
    reviews = [row for row in phase_quality if row["phase_class"] == "appraisal"]
    if reviews:
        leverage = ", ".join(f"{row['phase']} {_ratio(row['drl'])}" for row in reviews)
        console.print(f"DRL vs Test: {leverage}", highlight=False)


DIRECTION_SIGNS = {"lower_is_better": "≤", "higher_is_better": "≥"}
STATUS_COLORS = {"Ready to Graduate": "green", "On Track": "cyan", "Needs Improvement": "yellow"}


def print_marts_summary(data: ReportData) -> None:
    tables = data.tables
    if data.coverage:
        coverage = data.coverage
        console.print(f"\n[bold]{coverage.tasks:,} tasks, {coverage.executions:,} agent executions, "
                      f"{coverage.defects:,} defect log rows[/] ({coverage.first_day} to {coverage.last_day})")
    cost_caption = f"cost: {data.coverage.cost_line()}" if data.coverage else None
    for table in (cost_table(tables, cost_caption), review_table(tables), yield_table(tables)):
        console.print(table)
    print_quality_headline(tables.get("cost_of_quality", []), tables.get("phase_quality", []))
    console.print(bootstrap_table(tables))


def cost_table(tables: dict[str, list[dict[str, Any]]], caption: str | None = None) -> Table:
    table = layout.table("Cost by agent role", layout.text("agent role"), layout.number("tasks"), layout.number("cost"),
                         layout.number("avg latency (ms)"), layout.number("tokens"), layout.number("cost, last 30 d"),
                         caption=caption)
    for row in tables.get("cost_by_role", []):
        table.add_row(row["agent_role"], _fmt(row["tasks_executed"]), _fmt(row["total_cost_usd"], "usd"),
                      _fmt(row["avg_latency_ms"]), _fmt(int(row["total_tokens"] or 0)),
                      _fmt(row["total_cost_usd_30d"], "usd"))
    return table


def review_table(tables: dict[str, list[dict[str, Any]]]) -> Table:
    table = layout.table("Review effectiveness", layout.text("review phase"), layout.number("true pos."),
                         layout.number("false pos."), layout.number("false neg."), layout.number("precision"),
                         layout.number("recall"), layout.number("escape rate"))
    for row in tables.get("review_effectiveness", []):
        table.add_row(row["review_phase"], _fmt(row["true_positives"]), _fmt(row["false_positives"]),
                      _fmt(row["false_negatives"]), _fmt(row["precision_pct"], "pct"), _fmt(row["recall_pct"], "pct"),
                      _fmt(row["escape_rate_pct"], "pct"))
    return table


def yield_table(tables: dict[str, list[dict[str, Any]]]) -> Table:
    process = tables.get("process_yield") or [{}]
    table = layout.table(f"Phase yields (process yield {_fmt(process[0].get('process_yield_pct'), 'pct')})",
                         layout.text("phase"), layout.number("injected"), layout.number("removed"),
                         layout.number("escaped into"), layout.number("phase yield"))
    for row in tables.get("phase_yield", []):
        table.add_row(row["phase"], _fmt(row["injected"]), _fmt(row["removed"]), _fmt(row["escaped_into"]),
                      _fmt(row["phase_yield_pct"], "pct"))
    return table


def graduation_rule(rows: list[dict[str, Any]]) -> str | None:
    """The graduation threshold in words: one number when every capability shares it."""
    thresholds = {row["capability_name"]: row["tasks_required_for_graduation"] for row in rows}
    if not thresholds:
        return None
    values = set(thresholds.values())
    if len(values) == 1:
        count = f"{values.pop()} completed tasks (the graduation threshold)"
    else:
        count = "its graduation threshold of completed tasks (" + ", ".join(
            f"{name} {value}" for name, value in thresholds.items()) + ")"
    return f"A capability graduates once it has {count} and its metric meets the target."


def bootstrap_table(tables: dict[str, list[dict[str, Any]]]) -> Table:
    rows = tables.get("bootstrap_status", [])
    table = layout.table("Bootstrap status", layout.text("capability"), layout.text("mode"),
                         layout.number("tasks done"), layout.text("metric (target)"), layout.text("status"),
                         caption=graduation_rule(rows))
    for row in rows:
        status = row["status_indicator"]
        metric = str(row["primary_metric_name"]).replace("_", " ")
        sign = DIRECTION_SIGNS.get(row.get("direction") or "", "")
        table.add_row(
            row["capability_name"], row["capability_mode"], _fmt(row["tasks_completed"]),
            f"{metric} {_fmt(row['primary_metric_value'])} ({sign}{_fmt(row['primary_metric_target'])})",
            f"[{STATUS_COLORS.get(status, 'red')}]{status}[/]",
        )
    return table
