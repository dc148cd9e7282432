"""The terminal tables at 80 columns (what a pipe gets): every line fits, no word or number
is cut ('CodeRevi…') or split across lines, no colour codes; the graduation threshold is
said in words."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from rich.console import Console

from asp_telemetry import probe
from asp_telemetry.cli import summary
from asp_telemetry.cli.estimate import estimate_table

# Widest values the marts hold today (seeds and the demo's data), and large numbers.
TABLES = {
    "cost_by_role": [
        {"agent_role": role, "tasks_executed": 123_456, "total_cost_usd": Decimal("123456.78"),
         "avg_latency_ms": Decimal("123456.7"), "total_tokens": 1_234_567_890,
         "total_cost_usd_30d": Decimal("98765.43")}
        for role in ("Planning", "DesignReview", "CodeReview", "Postmortem")
    ],
    "review_effectiveness": [
        {"review_phase": phase, "true_positives": 12_345, "false_positives": 2_345, "false_negatives": 11_345,
         "precision_pct": Decimal("87.3"), "recall_pct": Decimal("63.3"), "escape_rate_pct": Decimal("36.7")}
        for phase in ("DesignReview", "CodeReview")
    ],
    "phase_yield": [
        {"phase": "DesignReview", "injected": 0, "removed": 11_193, "escaped_into": 11_865,
         "phase_yield_pct": Decimal("64.0")},
    ],
    "process_yield": [{"process_yield_pct": Decimal("82.6")}],
    "bootstrap_status": [
        {"capability_name": name, "capability_mode": "Autonomous", "tasks_completed": 1_461,
         "tasks_required_for_graduation": 20, "primary_metric_name": metric, "primary_metric_value": Decimal("75.25"),
         "primary_metric_target": Decimal("80"), "direction": direction, "status_indicator": status}
        for name, metric, direction, status in (
            ("ReviewAgent_Design", "True_Positive_Rate", "higher_is_better", "Needs Improvement"),
            ("TaskDecomposition", "MAPE", "lower_is_better", "Ready to Graduate"),
            ("PROBE_AI", "MAPE", "lower_is_better", "On Track"),
        )
    ],
}
# What each table must show whole (a split or cut word is not a substring of the output).
WHOLE = {
    summary.cost_table: ["Planning", "DesignReview", "CodeReview", "Postmortem", "$123,456.78", "1,234,567,890",
                         "123,456.7", "$98,765.43"],
    summary.review_table: ["DesignReview", "CodeReview", "12,345", "11,345", "87.3%", "63.3%", "36.7%"],
    summary.yield_table: ["DesignReview", "11,193", "11,865", "64.0%", "82.6%"],
    summary.bootstrap_table: ["ReviewAgent_Design", "TaskDecomposition", "PROBE_AI", "Improvement", "Autonomous",
                              "1,461", "Graduate"],
}


def render(renderable) -> str:
    out = io.StringIO()
    Console(file=out, width=80, force_terminal=False, color_system=None).print(renderable)
    return out.getvalue()


def assert_fits(text: str) -> None:
    assert "…" not in text
    assert "\x1b[" not in text
    too_long = [line for line in text.splitlines() if len(line.rstrip()) > 80]
    assert not too_long, too_long


@pytest.mark.parametrize("build", list(WHOLE), ids=lambda build: build.__name__)
def test_each_summary_table_fits_80_columns_and_cuts_nothing(build):
    text = render(build(TABLES))
    assert_fits(text)
    missing = [word for word in WHOLE[build] if word not in text]
    assert not missing, text


def test_bootstrap_status_says_what_the_threshold_is():
    text = " ".join(render(summary.bootstrap_table(TABLES)).split())
    assert "A capability graduates once it has 20 completed tasks (the graduation threshold)" in text
    assert "True Positive Rate" in text and "(≥80.0)" in text and "(≤80.0)" in text
    mixed = [dict(row) for row in TABLES["bootstrap_status"]]
    mixed[0]["tasks_required_for_graduation"] = 50
    text = " ".join(render(summary.bootstrap_table({"bootstrap_status": mixed})).split())
    assert "its graduation threshold of completed tasks (ReviewAgent_Design 50, TaskDecomposition 20" in text


def test_the_estimate_table_fits_80_columns():
    def fit(scale: float) -> probe.Regression:  # the demo's fits, roughly
        return probe.Regression(n=2944, x_avg=15.2, sxx=81234.5, beta0=120 * scale, beta1=12.3 * scale,
                                r_squared=0.8, sigma=5.5 * scale, t_statistic=110.0, averaging_beta1=12.4 * scale)

    projections = [probe.project(target, fit(scale), 16.0)
                   for target, scale in zip(probe.TARGETS, (1000.0, 400.0, 0.002))]
    estimate = probe.Estimate(complexity=16, task_type="integration", project_id="Billing-Platform",
                              tasks_used=2944, projections=projections)
    text = render(estimate_table(estimate))
    assert_fits(text)
    for word in ("latency", "(ms)", "(USD)", "70%", "90%", "interval", "2944", "0.80"):
        assert word in text
    assert re.search(r"\d{3},\d{3} –", text)  # an interval's bounds are whole numbers, split at the dash only
