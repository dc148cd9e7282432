"""The HTML dashboard: every chart from built marts, a plain message on an empty database,
and (where Chromium is installed) a real browser that renders it without console errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from support import cli_environment, run_cli

from asp_telemetry import build, report

CHARTS = ["cost_by_role", "probe", "matrix", "yield", "review", "coq", "afr", "phase_quality", "bootstrap",
          "components"]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def written(analytics_db, tmp_path_factory) -> tuple[report.ReportResult, str]:
    result = report.write_report(analytics_db, tmp_path_factory.mktemp("report"))
    return result, result.path.read_text(encoding="utf-8")


def test_every_chart_is_drawn_from_the_marts(written):
    result, page = written
    assert result.built and result.panels == CHARTS and result.empty_panels == []
    for chart in CHARTS:
        assert f'id="chart-{chart}"' in page, chart


def test_the_page_shows_time_range_and_row_counts_and_needs_no_network(written):
    _, page = written
    assert re.search(r"data \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2} \(UTC\)", page)
    assert "400</b><span>tasks" in page
    assert "completed tasks (marts.mart_probe_dataset)" in page
    # Self-contained: Plotly is inlined, nothing is linked (the browser test checks no request is made).
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?:", page)
    assert "Plotly" in page


def test_the_quality_section_quotes_the_marts(written, analytics_db):
    """The COQ caption states the all-projects row of mart_cost_of_quality; the phase quality
    chart draws one DRL marker per phase that has one."""
    from asp_telemetry.report import data

    tables = data.read(analytics_db).tables
    everything = next(row for row in tables["cost_of_quality"] if row["project_id"] == "(all)")
    _, page = written
    assert f"all time: COQ {float(everything['coq_pct']):.1f}% of time" in page
    assert f"A/FR {float(everything['af_ratio']):.2f} in time" in page
    for row in tables["phase_quality"]:
        if row["drl"] is not None:
            assert f'"{float(row["drl"]):.2f}"' in page, row["phase"]


def test_axis_titles_carry_units(written):
    _, page = written
    for title in ("API cost (USD)", "Actual API cost per task (USD)", "Real defects (count)", "Percent (%)",
                  "Cost of quality (% of agent time)", "Appraisal-to-failure ratio (review time over test time)",
                  "Real defects per hour of agent time"):
        assert title in page, title


def test_each_chart_title_is_shown_once(written):
    _, page = written
    headings = re.findall(r"<h2>([^<]+)</h2>", page)
    assert len(headings) == len(CHARTS)
    for heading in headings:
        assert page.count(heading) == 1, heading  # the panel's heading; the figure has no title of its own


def test_before_any_build_the_report_says_so(db, tmp_path):
    result = report.write_report(db, tmp_path)
    page = result.path.read_text()
    assert not result.built
    assert "The marts are not built yet" in page


def test_an_empty_database_gives_a_report_that_says_there_is_no_data(make_database, tmp_path):
    info = make_database("asp_empty_report")
    assert build.run_build(
        info, ["--target-path", str(tmp_path / "target"), "--exclude-resource-type", "unit_test"]
    ).success
    output = run_cli("report", "--out", str(tmp_path / "out"), env=cli_environment(info, COLUMNS="200")).stdout
    assert f"no data yet for: {', '.join(CHARTS)}" in output
    page = (tmp_path / "out" / "index.html").read_text()
    assert "There is no data yet" in page and "No agent executions yet." in page


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_chromium_renders_every_chart_without_console_errors(written, tmp_path):
    from playwright.sync_api import sync_playwright

    result, _ = written
    messages: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda message: messages.append(f"{message.type}: {message.text}")
                if message.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: messages.append(f"page error: {error}"))
        page.on("request", lambda request: messages.append(f"network: {request.url}")
                if not request.url.startswith(("file:", "data:", "blob:")) else None)
        page.goto(result.path.as_uri())
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(CHARTS)}")
        drawn = page.locator(".js-plotly-plot").count()
        screenshot = tmp_path / "report.png"
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    assert messages == []
    assert drawn == len(CHARTS)
    assert screenshot.stat().st_size > 50_000
