"""The cost of quality and phase quality marts (metrics.md, "Cost of quality and phase
quality") against tests/psp_reference.py on generated telemetry, and on a hand-made data set
of the edge cases: a project without reviews, one without testing, a task without a project,
an execution without a cost, a task whose metadata names another project than its cost rows,
a phase nobody ran and weeks that start at midnight UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from psp_reference import close, expected_marts
from test_dbt_build import build_ok, cost, defect, insert, read_raw, read_table, task

pytestmark = pytest.mark.slow

QUALITY_MARTS = {
    "mart_cost_of_quality": ("project_id",),
    "mart_cost_of_quality_weekly": ("project_id", "week_start"),
    "mart_phase_quality": ("phase",),
}
MONDAY = datetime(2026, 11, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


def assert_marts_match_the_reference(info) -> dict[str, list[dict]]:
    expected = expected_marts(read_raw(info), datetime.now(UTC))
    actual = {}
    for mart, key in QUALITY_MARTS.items():
        rows = read_table(info, f"marts.{mart}")
        actual[mart] = rows
        by_key = {tuple(row[k] for k in key): row for row in rows}
        wanted = {tuple(row[k] for k in key): row for row in expected[mart]}
        assert sorted(by_key, key=repr) == sorted(wanted, key=repr), mart
        for row_key, wanted_row in wanted.items():
            for column, value in wanted_row.items():
                assert close(by_key[row_key][column], value), (mart, row_key, column, by_key[row_key][column], value)
    return actual


def test_quality_marts_match_the_reference_on_generated_data(analytics_db):
    marts = assert_marts_match_the_reference(analytics_db)
    everything = next(row for row in marts["mart_cost_of_quality"] if row["project_id"] == "(all)")
    # the generator runs every phase: reviews and tests cost something, and testing finds defects
    assert everything["af_ratio"] > 0 and everything["coq_pct"] > 0
    reviews = [row for row in marts["mart_phase_quality"] if row["phase_class"] == "appraisal"]
    assert reviews and all(row["drl"] is not None for row in reviews)
    assert len({row["week_start"] for row in marts["mart_cost_of_quality_weekly"]}) >= 4


@pytest.fixture(scope="module")
def edge_cases(make_database, tmp_path_factory):
    info = make_database("asp_quality_edges")
    plus_two = timezone(timedelta(hours=2))
    insert(info, {
        "task_metadata": [
            task("A1", "completed", 5, 5, None, MONDAY - 10 * 24 * HOUR, project="Reviewed"),
            task("B1", "completed", 5, 5, None, MONDAY - 10 * 24 * HOUR, project="NoReviews"),
            task("C1", "in_progress", 5, None, None, MONDAY - 10 * 24 * HOUR, project="NoTests"),
            # its cost rows say another project: the task's own wins
            task("D1", "in_progress", 5, None, None, MONDAY - 10 * 24 * HOUR, project="NoReviews"),
            {**task("E1", "in_progress", 5, None, None, MONDAY - 10 * 24 * HOUR), "project_id": None},
        ],
        "agent_cost_vector": [
            *cost("A1", "Code", {"Latency": 4000, "API_Cost": 0.04}, MONDAY - 2 * HOUR, "a1"),
            # Sunday 23:30 UTC and Monday 00:30 at UTC+2: both the week before MONDAY
            *cost("A1", "CodeReview", {"Latency": 2000, "API_Cost": 0.01}, MONDAY - HOUR / 2, "a2"),
            *cost("A1", "Test", {"Latency": 1000, "API_Cost": 0.02},
                  datetime(2026, 11, 9, 0, 30, tzinfo=plus_two), "a3"),
            # Monday 00:00 UTC: MONDAY's week
            *cost("A1", "Test", {"Latency": 3000}, MONDAY, "a4"),
            *cost("B1", "Code", {"Latency": 1000, "API_Cost": 0.01}, MONDAY + HOUR, "b1"),
            *cost("B1", "Test", {"Latency": 3000, "API_Cost": 0.03}, MONDAY + 2 * HOUR, "b2"),
            *cost("C1", "DesignReview", {"Latency": 500, "API_Cost": 0.005}, MONDAY + HOUR, "c1"),
            *cost("C1", "Design", {"Latency": 1500}, MONDAY + HOUR, "c2"),
            [{**row, "project_id": "Elsewhere"} for row in cost("D1", "Code", {"Latency": 700}, MONDAY, "d1")][0],
            # no project anywhere; no latency and no cost
            *[{**row, "project_id": None} for row in cost("E1", "Test", {"Tokens_In": 10}, MONDAY, "e1")],
        ],
        "defect_log": [
            defect("X1", "A1", "Code", "CodeReview", "src/a.py"),
            defect("X2", "A1", "Code", "Test", "src/a.py"),
            defect("X3", "B1", "Code", "Test", "src/b.py"),
            defect("X4", "B1", "Design", "Test", "src/b.py", false_positive=True),
            defect("X5", "C1", "Design", "DesignReview", "src/c.py"),
        ],
    })
    target = str(tmp_path_factory.mktemp("quality-target"))
    build_ok(info, "--target-path", target, "--select", "+mart_cost_of_quality", "+mart_cost_of_quality_weekly",
             "+mart_phase_quality", "--exclude-resource-type", "test", "unit_test")
    return info


def test_quality_marts_match_the_reference_on_edge_cases(edge_cases):
    assert_marts_match_the_reference(edge_cases)


def test_edge_cases_give_the_null_rules(edge_cases):
    projects = {row["project_id"]: row for row in read_table(edge_cases, "marts.mart_cost_of_quality")}
    assert set(projects) == {"Reviewed", "NoReviews", "NoTests", "(none)", "(all)"}
    # no reviews: appraisal 0 and A/FR 0; D1 counts in its task's project
    assert (projects["NoReviews"]["appraisal_coq_pct"], projects["NoReviews"]["af_ratio"]) == (0, 0)
    assert projects["NoReviews"]["tasks"] == 2
    # no testing: A/FR NULL in time and in money
    assert (projects["NoTests"]["af_ratio"], projects["NoTests"]["af_cost_ratio"]) == (None, None)
    # an execution with no latency and no cost: every share NULL
    assert projects["(none)"]["coq_pct"] is None and projects["(none)"]["coq_cost_pct"] is None
    weekly = read_table(edge_cases, "marts.mart_cost_of_quality_weekly")
    weeks = {(row["project_id"], row["week_start"]) for row in weekly}
    assert ("Reviewed", (MONDAY - 7 * 24 * HOUR).date()) in weeks and ("Reviewed", MONDAY.date()) in weeks
    phases = {row["phase"]: row for row in read_table(edge_cases, "marts.mart_phase_quality")}
    # nobody ran Planning or Postmortem: no rates
    assert phases["Postmortem"]["effort_ms"] == 0 and phases["Postmortem"]["removal_rate_per_hour"] is None
    # Test removed 2 real defects in 7 s; CodeReview 1 in 2 s: DRL (1/2) / (2/7) = 1.75
    assert phases["CodeReview"]["drl"] == pytest.approx(1.75)
