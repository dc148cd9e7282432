"""The one fan-out of an agent execution into cost rows (execution.py): its metric types
and units agree with the seeds, an absent metric makes no row, zero makes one."""

from __future__ import annotations

import csv
from pathlib import Path

from asp_telemetry.execution import METRIC_TYPES, ONCE_PER_EXECUTION, Execution

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def test_every_metric_type_and_unit_is_the_seeds():
    with open(SEEDS / "metric_types.csv", newline="") as f:
        seeded = {row["metric_type"]: row["metric_unit"] for row in csv.DictReader(f)}
    assert {name: m.unit for name, m in METRIC_TYPES.items()} == {name: seeded[name] for name in METRIC_TYPES}


def test_an_absent_metric_makes_no_row_and_zero_makes_one():
    rows = Execution("T-1", "Code", "e-1", latency_ms=12.5, tokens_in=0, tool_calls=None,
                     other_metrics=[("Memory_Usage", 3, "MB")]).cost_rows()
    assert [(r["metric_type"], r["metric_value"], r["metric_unit"]) for r in rows] == [
        ("Latency", 12.5, "ms"), ("Tokens_In", 0, "tokens"), ("Memory_Usage", 3, "MB")]
    assert {r["metadata"]["execution_id"] for r in rows} == {"e-1"}
    assert {r["agent_iteration"] for r in rows} == {1}


def test_totals_are_reported_once_per_execution_and_observations_may_repeat():
    assert {"Latency", "Tokens_In", "Tokens_Out", "API_Cost", "Tool_Calls", "Retries"} <= ONCE_PER_EXECUTION
    assert "Memory_Usage" not in ONCE_PER_EXECUTION
