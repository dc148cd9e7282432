"""Readable terminal summaries: a pipeline run, and the marts' headline numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.table import Table

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


def print_marts_summary(data: ReportData) -> None:
    tables = data.tables
    if data.coverage:
        coverage = data.coverage
        console.print(f"\n[bold]{coverage.tasks:,} tasks, {coverage.executions:,} agent executions, "
                      f"{coverage.defects:,} defect log rows[/] ({coverage.first_day} to {coverage.last_day})")

    cost = Table("agent role", "tasks", "cost", "avg latency (ms)", "tokens", "cost, last 30 d",
                 title="Cost by agent role", title_justify="left",
                 caption=f"cost: {data.coverage.cost_line()}" if data.coverage else None, caption_justify="left")
    for row in tables.get("cost_by_role", []):
        cost.add_row(row["agent_role"], _fmt(row["tasks_executed"]), _fmt(row["total_cost_usd"], "usd"),
                     _fmt(row["avg_latency_ms"]), _fmt(int(row["total_tokens"] or 0)),
                     _fmt(row["total_cost_usd_30d"], "usd"))
    console.print(cost)

    review = Table("review phase", "true pos.", "false pos.", "false neg.", "precision", "recall", "escape rate",
                   title="Review effectiveness", title_justify="left")
    for row in tables.get("review_effectiveness", []):
        review.add_row(row["review_phase"], _fmt(row["true_positives"]), _fmt(row["false_positives"]),
                       _fmt(row["false_negatives"]), _fmt(row["precision_pct"], "pct"), _fmt(row["recall_pct"], "pct"),
                       _fmt(row["escape_rate_pct"], "pct"))
    console.print(review)

    process = tables.get("process_yield") or [{}]
    yields = Table("phase", "injected", "removed", "escaped into", "phase yield",
                   title=f"Phase yields (process yield {_fmt(process[0].get('process_yield_pct'), 'pct')})",
                   title_justify="left")
    for row in tables.get("phase_yield", []):
        yields.add_row(row["phase"], _fmt(row["injected"]), _fmt(row["removed"]), _fmt(row["escaped_into"]),
                       _fmt(row["phase_yield_pct"], "pct"))
    console.print(yields)

    print_quality_headline(tables.get("cost_of_quality", []), tables.get("phase_quality", []))

    bootstrap = Table("capability", "mode", "tasks", "metric", "value", "target", "status",
                      title="Bootstrap status", title_justify="left")
    colors = {"Ready to Graduate": "green", "On Track": "cyan", "Needs Improvement": "yellow"}
    for row in tables.get("bootstrap_status", []):
        status = row["status_indicator"]
        bootstrap.add_row(
            row["capability_name"], row["capability_mode"],
            f"{row['tasks_completed']}/{row['tasks_required_for_graduation']}", row["primary_metric_name"],
            _fmt(row["primary_metric_value"]), _fmt(row["primary_metric_target"]),
            f"[{colors.get(status, 'red')}]{status}[/]",
        )
    console.print(bootstrap)
