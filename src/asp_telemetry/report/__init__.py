"""`asp-telemetry report`: a self-contained HTML dashboard built from the marts."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.report import charts, data, html

REPORT_FILE = "index.html"


class ReportResult(BaseModel):
    path: Path
    panels: list[str]
    empty_panels: list[str]
    built: bool


def panels(report_data: data.ReportData) -> list[charts.Panel]:
    tables = report_data.tables
    get = lambda name: tables.get(name, [])  # noqa: E731
    return [
        charts.cost_by_role_over_time(get("daily_role_costs")),
        charts.cost_against_complexity(get("probe_dataset"), get("probe_model")),
        charts.injection_removal_matrix(get("injection_removal"), get("phase_yield")),
        charts.phase_yields(get("phase_yield"), get("process_yield")),
        charts.review_effectiveness(get("review_effectiveness")),
        charts.cost_of_quality_over_time(get("cost_of_quality_weekly"), get("cost_of_quality")),
        charts.appraisal_failure_ratio_over_time(get("cost_of_quality_weekly"), get("cost_of_quality")),
        charts.phase_quality(get("phase_quality")),
        charts.bootstrap_progress(get("bootstrap_status")),
        charts.error_prone_components(get("components")),
    ]


def write_report(info: ConnectionInfo, out_dir: Path) -> ReportResult:
    report_data = data.read(info)
    built_panels = panels(report_data)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_FILE
    temporary = path.with_suffix(".html.tmp")
    temporary.write_text(html.render(report_data, built_panels), encoding="utf-8")
    temporary.replace(path)
    return ReportResult(
        path=path, panels=[p.key for p in built_panels],
        empty_panels=[p.key for p in built_panels if p.figure is None], built=report_data.built,
    )
