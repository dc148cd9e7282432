"""Assemble the panels into one self-contained HTML page (Plotly inlined: no network)."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from plotly.offline import get_plotlyjs

from asp_telemetry.report.charts import Panel
from asp_telemetry.report.data import ReportData

STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0;
       background: #f6f7f9; color: #1f2328; }
header { background: #24292f; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 6px; font-size: 22px; }
header p { margin: 0; color: #d0d7de; font-size: 14px; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px; }
.cards { display: flex; gap: 16px; flex-wrap: wrap; margin-bottom: 24px; }
.card { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 18px; min-width: 150px; }
.card b { display: block; font-size: 22px; }
.card span { color: #57606a; font-size: 13px; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 16px; margin-bottom: 24px; }
section h2 { font-size: 17px; margin: 0 0 4px; }
.caption { color: #57606a; font-size: 13px; margin: 0 0 8px; }
.empty { color: #57606a; font-style: italic; padding: 24px 0; }
.notice { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 12px 18px; margin-bottom: 24px; }
"""


def _card(value: str, label: str) -> str:
    return f'<div class="card"><b>{html.escape(value)}</b><span>{html.escape(label)}</span></div>'


def render(data: ReportData, panels: list[Panel], generated_at: datetime | None = None) -> str:
    generated_at = generated_at or datetime.now(UTC)
    coverage = data.coverage
    if coverage and coverage.first_day:
        period = f"{coverage.first_day:%Y-%m-%d} to {coverage.last_day:%Y-%m-%d} (UTC)"
    else:
        period = "no agent executions yet"
    cards = ""
    notice = ""
    if not data.built:
        notice = ('<div class="notice">The marts are not built yet, so there is no data to show. '
                  "Load telemetry (<code>asp-telemetry load</code>) and run <code>asp-telemetry build</code>.</div>")
    elif data.empty:
        notice = ('<div class="notice">There is no data yet. Load telemetry (<code>asp-telemetry load</code> or the '
                  "SDK) and run <code>asp-telemetry build</code>, then write this report again.</div>")
    if coverage:
        cards = '<div class="cards">' + "".join([
            _card(f"{coverage.tasks:,}", "tasks"),
            _card(f"{coverage.executions:,}", "agent executions"),
            _card(f"{coverage.defects:,}", "defect log rows"),
            _card(f"${coverage.cost_usd:,.2f}", f"cost ({coverage.cost_line().split(', ', 1)[1]})"),
            _card(period, "data time range"),
        ]) + "</div>"
    sections = []
    for panel in panels:
        if panel.figure is None:
            body = f'<p class="empty">{html.escape(panel.empty_message)}</p>'
        else:
            body = panel.figure.to_html(
                full_html=False, include_plotlyjs=False, div_id=f"chart-{panel.key}",
                config={"displaylogo": False, "responsive": True},
            )
        sections.append(
            f'<section id="{panel.key}" data-chart="{panel.key}"><h2>{html.escape(panel.title)}</h2>'
            f'<p class="caption">{html.escape(panel.caption)}</p>{body}</section>'
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>asp-telemetry report</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<header><h1>asp-telemetry: agent pipeline report</h1>
<p>Generated {generated_at:%Y-%m-%d %H:%M} UTC from {html.escape(data.database)} · data {html.escape(period)}</p>
</header>
<main>
{notice}
{cards}
{"".join(sections)}
</main>
</body>
</html>
"""
