"""One Plotly figure per dashboard panel. Every panel has a title (the page's heading of the
panel: the figure itself carries none, so it is shown once), axis titles with units, and a
caption with its row count; a panel without data says so instead of drawing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from asp_telemetry.probe import Regression, prediction_interval

ROLE_COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"]
LAYOUT = dict(template="plotly_white", height=420, margin=dict(l=70, r=30, t=30, b=60), font=dict(size=13))


@dataclass
class Panel:
    key: str
    title: str
    caption: str
    figure: go.Figure | None  # None: no data for this panel
    empty_message: str = ""


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def cost_by_role_over_time(rows: list[dict]) -> Panel:
    title = "Cost per agent role over time"
    if not rows:
        return Panel("cost_by_role", title, "0 rows", None, "No agent executions yet.")
    figure = go.Figure()
    roles = sorted({row["agent_role"] for row in rows})
    for index, role in enumerate(roles):
        points = [row for row in rows if row["agent_role"] == role]
        figure.add_trace(go.Bar(
            x=[row["execution_date"] for row in points], y=[_float(row["total_cost_usd"]) for row in points],
            name=role, marker_color=ROLE_COLORS[index % len(ROLE_COLORS)],
        ))
    figure.update_layout(barmode="stack", xaxis_title="Execution date (UTC)",
                         yaxis_title="API cost (USD)", legend_title="Agent role", **LAYOUT)
    days = len({row["execution_date"] for row in rows})
    return Panel("cost_by_role", title, f"{len(rows)} rows: {days} days × {len(roles)} roles "
                                        "(marts.fct_daily_role_costs)", figure)


def cost_against_complexity(points: list[dict], models: list[dict]) -> Panel:
    title = "Cost per task against estimated complexity, with the PROBE line and its 70% prediction interval"
    if not points:
        return Panel("probe", title, "0 tasks", None,
                     "No completed tasks with estimated and actual complexity yet (marts.mart_probe_dataset).")
    xs = [float(p["proxy"]) for p in points]
    figure = go.Figure(go.Scatter(
        x=xs, y=[_float(p["actual_api_cost_usd"]) for p in points], mode="markers", name="completed task",
        marker=dict(size=5, opacity=0.45, color="#4e79a7"), text=[p["task_id"] for p in points],
    ))
    model = next((m for m in models if m["target"] == "api_cost_usd"), None)
    caption = f"{len(points)} completed tasks (marts.mart_probe_dataset)"
    if model and model["n"] and model["n"] >= 3 and model["sigma"] is not None and model["sxx"]:
        fit = Regression.model_validate(model)
        grid = [min(xs) + (max(xs) - min(xs)) * i / 60 for i in range(61)]
        bands = [prediction_interval(fit, x, 0.70) for x in grid]
        figure.add_trace(go.Scatter(x=grid, y=[b.high for b in bands], mode="lines", line=dict(width=0),
                                    showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=grid, y=[b.low for b in bands], mode="lines", line=dict(width=0),
                                    fill="tonexty", fillcolor="rgba(242,142,43,0.25)", name="70% prediction interval"))
        figure.add_trace(go.Scatter(x=grid, y=[fit.beta0 + fit.beta1 * x for x in grid], mode="lines",
                                    line=dict(color="#f28e2b", width=3),
                                    name=f"PROBE: y = {fit.beta0:.4f} + {fit.beta1:.5f}·x (r² {fit.r_squared:.2f})"))
        caption += f"; regression over n = {fit.n} (marts.mart_probe_model)"
    figure.update_layout(xaxis_title="Estimated complexity (PROBE proxy, complexity units)",
                         yaxis_title="Actual API cost per task (USD)", **LAYOUT)
    return Panel("probe", title, caption, figure)


def injection_removal_matrix(rows: list[dict], phases: list[dict]) -> Panel:
    title = "Defect injection and removal matrix"
    if not rows:
        return Panel("matrix", title, "0 rows", None, "No real defects yet.")
    order = [p["phase"] for p in phases] or sorted(
        {r["phase_injected"] for r in rows} | {r["phase_removed"] for r in rows}
    )
    injected = [p for p in order if any(r["phase_injected"] == p for r in rows)]
    removed = [p for p in order if any(r["phase_removed"] == p for r in rows)]
    counts = {(r["phase_injected"], r["phase_removed"]): r["defect_count"] for r in rows}
    z = [[counts.get((i, r), 0) for r in removed] for i in injected]
    figure = go.Figure(go.Heatmap(
        z=z, x=removed, y=injected, colorscale="Reds", text=z, texttemplate="%{text}",
        colorbar=dict(title="real defects"),
        hovertemplate="injected in %{y}<br>removed in %{x}<br>%{z} real defects<extra></extra>",
    ))
    figure.update_layout(xaxis_title="Phase removed (where the defect was found)",
                         yaxis_title="Phase injected (where it was made)", **LAYOUT)
    figure.update_yaxes(autorange="reversed")
    total = sum(counts.values())
    return Panel(
        "matrix", title, f"{total} real defects in {len(rows)} cells (marts.mart_defect_injection_removal)", figure
    )


def phase_yields(phases: list[dict], process: list[dict]) -> Panel:
    title = "Phase yields and process yield"
    yields = [p for p in phases if p["phase_yield_pct"] is not None]
    if not yields:
        return Panel("yield", title, f"{len(phases)} phases", None, "No real defects yet, so no yields.")
    figure = go.Figure(go.Bar(
        x=[p["phase"] for p in yields], y=[_float(p["phase_yield_pct"]) for p in yields], marker_color="#59a14f",
        text=[f"{float(p['phase_yield_pct']):.1f}%" for p in yields], textposition="outside",
        name="phase yield",
    ))
    caption = f"{len(phases)} phases (marts.mart_phase_yield)"
    process_yield = _float(process[0]["process_yield_pct"]) if process else None
    if process_yield is not None:
        figure.add_hline(y=process_yield, line_dash="dash", line_color="#e15759",
                         annotation_text=f"process yield {process_yield:.1f}%", annotation_position="top left")
        caption += f"; process yield over {process[0]['real_defects']} real defects (marts.mart_process_yield)"
    figure.update_layout(xaxis_title="Phase (pipeline order)",
                         yaxis_title="Yield (% of defects present that the phase removed)",
                         yaxis_range=[0, 110], **LAYOUT)
    return Panel("yield", title, caption, figure)


def review_effectiveness(rows: list[dict]) -> Panel:
    title = "Review effectiveness per review phase"
    measured = [r for r in rows if any(r[c] is not None for c in ("precision_pct", "recall_pct", "escape_rate_pct"))]
    if not measured:
        return Panel("review", title, f"{len(rows)} review phases", None,
                     "No review outcomes yet: no defect was flagged in, or escaped, a review phase.")
    figure = go.Figure()
    for column, label, color in (("precision_pct", "precision", "#4e79a7"), ("recall_pct", "recall", "#59a14f"),
                                 ("escape_rate_pct", "escape rate", "#e15759")):
        figure.add_trace(go.Bar(x=[r["review_phase"] for r in rows], y=[_float(r[column]) for r in rows],
                                name=label, marker_color=color))
    figure.update_layout(barmode="group", xaxis_title="Review phase",
                         yaxis_title="Percent (%)", yaxis_range=[0, 105], **LAYOUT)
    return Panel("review", title, f"{len(rows)} review phases (marts.mart_review_effectiveness)", figure)


def _weekly_lines(figure: go.Figure, rows: list[dict], column: str) -> None:
    """One line per project over the weeks, '(all)' drawn thick and dark."""
    projects = sorted({row["project_id"] for row in rows} - {"(all)"}) + ["(all)"]
    for index, project in enumerate(projects):
        points = [row for row in rows if row["project_id"] == project]
        everything = project == "(all)"
        figure.add_trace(go.Scatter(
            x=[row["week_start"] for row in points], y=[_float(row[column]) for row in points],
            mode="lines+markers", name="all projects" if everything else project,
            line=dict(color="#24292f" if everything else ROLE_COLORS[index % len(ROLE_COLORS)],
                      width=4 if everything else 2, dash="dash" if everything else "solid"),
        ))


def _all_projects(totals: list[dict]) -> dict:
    return next((row for row in totals if row["project_id"] == "(all)"), {})


def cost_of_quality_over_time(weekly: list[dict], totals: list[dict]) -> Panel:
    title = "Cost of quality per project and week (share of agent time in reviews and tests)"
    if not any(row["coq_pct"] is not None for row in weekly):
        return Panel("coq", title, f"{len(weekly)} rows", None, "No agent executions with latency yet.")
    figure = go.Figure()
    _weekly_lines(figure, weekly, "coq_pct")
    figure.update_layout(xaxis_title="Week (starting Monday, UTC)", yaxis_title="Cost of quality (% of agent time)",
                         legend_title="Project", **LAYOUT)
    everything = _all_projects(totals)
    caption = f"{len(weekly)} project-weeks (marts.mart_cost_of_quality_weekly)"
    if everything.get("coq_pct") is not None:
        caption += (f"; all time: COQ {float(everything['coq_pct']):.1f}% of time "
                    f"(appraisal {float(everything['appraisal_coq_pct']):.1f}%, failure "
                    f"{float(everything['failure_coq_pct']):.1f}%), {_fmt_pct(everything.get('coq_cost_pct'))} of "
                    "cost (marts.mart_cost_of_quality)")
    return Panel("coq", title, caption, figure)


def _fmt_pct(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}%"


def appraisal_failure_ratio_over_time(weekly: list[dict], totals: list[dict]) -> Panel:
    title = "Appraisal/failure ratio (A/FR) per project and week"
    if not any(row["af_ratio"] is not None for row in weekly):
        return Panel("afr", title, f"{len(weekly)} rows", None, "No test (failure) effort yet, so no A/FR.")
    figure = go.Figure()
    _weekly_lines(figure, weekly, "af_ratio")
    figure.add_hline(y=2, line_dash="dot", line_color="#59a14f", annotation_text="PSP guideline: above 2",
                     annotation_position="top left")
    figure.add_hline(y=1, line_dash="dot", line_color="#e15759",
                     annotation_text="below 1: tests cost more than reviews", annotation_position="bottom left")
    figure.update_layout(xaxis_title="Week (starting Monday, UTC)",
                         yaxis_title="Appraisal-to-failure ratio (review time over test time)",
                         legend_title="Project", **LAYOUT)
    everything = _all_projects(totals)
    caption = f"{len(weekly)} project-weeks (marts.mart_cost_of_quality_weekly)"
    if everything.get("af_ratio") is not None:
        money = everything.get("af_cost_ratio")
        caption += (f"; all time: A/FR {float(everything['af_ratio']):.2f} in time, "
                    f"{'-' if money is None else f'{float(money):.2f}'} in cost (marts.mart_cost_of_quality)")
    return Panel("afr", title, caption, figure)


def phase_quality(rows: list[dict]) -> Panel:
    title = "Phase quality: defects injected and removed per hour, and defect removal leverage (DRL)"
    measured = [row for row in rows if row["removal_rate_per_hour"] is not None]
    if not measured:
        return Panel("phase_quality", title, f"{len(rows)} phases", None, "No agent executions with latency yet.")
    phases = [row["phase"] for row in measured]
    figure = go.Figure()
    figure.add_trace(go.Bar(x=phases, y=[_float(row["injection_rate_per_hour"]) for row in measured],
                            name="injected per hour", marker_color="#e15759"))
    figure.add_trace(go.Bar(x=phases, y=[_float(row["removal_rate_per_hour"]) for row in measured],
                            name="removed per hour", marker_color="#59a14f"))
    drl = [row for row in measured if row["drl"] is not None]
    figure.add_trace(go.Scatter(
        x=[row["phase"] for row in drl], y=[_float(row["drl"]) for row in drl], yaxis="y2",
        mode="markers+text", name="DRL (vs Test)", marker=dict(size=13, symbol="diamond", color="#4e79a7"),
        text=[f"{float(row['drl']):.2f}" for row in drl], textposition="top center",
    ))
    figure.update_layout(
        barmode="group", xaxis_title="Phase (pipeline order)",
        yaxis_title="Real defects per hour of agent time",
        yaxis2=dict(title="DRL (removal rate / Test's)", overlaying="y", side="right", rangemode="tozero",
                    showgrid=False),
        **LAYOUT,
    )
    caption = (f"{len(rows)} phases, {len(measured)} with agent time; DRL below 1: the phase removes defects "
               "more slowly per hour than testing (marts.mart_phase_quality)")
    return Panel("phase_quality", title, caption, figure)


def bootstrap_progress(rows: list[dict]) -> Panel:
    title = "Bootstrap capabilities: progress toward graduation"
    if not rows:
        return Panel("bootstrap", title, "0 capabilities", None,
                     "No bootstrap snapshots yet (run `asp-telemetry snapshot`).")
    names = [r["capability_name"] for r in rows]
    progress = [min(100.0, 100.0 * r["tasks_completed"] / r["tasks_required_for_graduation"]) for r in rows]
    colors = {"Ready to Graduate": "#59a14f", "On Track": "#4e79a7", "Needs Improvement": "#e15759"}
    figure = go.Figure(go.Bar(
        y=names, x=progress, orientation="h",
        marker_color=[colors.get(r["status_indicator"], "#bab0ac") for r in rows],
        text=[
            f"{r['tasks_completed']}/{r['tasks_required_for_graduation']} tasks · {r['primary_metric_name']} "
            f"{float(r['primary_metric_value']):.1f} vs {float(r['primary_metric_target']):g} · {r['status_indicator']}"
            for r in rows
        ],
        textposition="auto", name="tasks toward graduation",
    ))
    figure.update_layout(xaxis_title="Tasks completed toward graduation (% of required)",
                         yaxis_title="Capability", xaxis_range=[0, 100], **LAYOUT)
    return Panel("bootstrap", title, f"{len(rows)} capabilities, latest snapshot each (marts.mart_bootstrap_status)",
                 figure)


def error_prone_components(rows: list[dict]) -> Panel:
    title = "Most error-prone components"
    if not rows:
        return Panel("components", title, "0 components", None, "No defects with a component path yet.")
    ordered = list(reversed(rows))
    figure = go.Figure(
        go.Bar(
            y=[r["component_path"] for r in ordered],
            x=[r["defect_count"] for r in ordered],
            orientation="h",
            marker_color=["#e15759" if r["error_prone"] else "#bab0ac" for r in ordered],
            text=[
                f"density {float(r['defect_density']):.3f}/unit" if r["defect_density"] is not None else ""
                for r in ordered
            ],
            textposition="auto",
            name="real defects",
        )
    )
    figure.update_layout(xaxis_title="Real defects (count)", yaxis_title="Component path", **LAYOUT)
    return Panel("components", title, f"top {len(rows)} components by real defects; red: error-prone (3 or more) "
                                      "(marts.mart_defect_density_by_component)", figure)
