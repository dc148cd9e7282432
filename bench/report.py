"""docs/benchmarks.md, from the results of one run (the README only links to it).

The analysis of each measurement (what limits it, what was profiled and fixed) is prose
kept in bench/analysis.md, one `## <measurement>` section each, included under that
measurement's numbers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ANALYSIS = Path(__file__).resolve().parent / "analysis.md"


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _spread(figure: dict[str, Any], unit: str, digits: int = 1) -> str:
    """'12.3 s (11.9-13.0)': median and range of the samples."""
    return f"{_n(figure['median'], digits)} {unit} ({_n(figure['min'], digits)}-{_n(figure['max'], digits)})"


def _met(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "**no**")


def summary_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """(measurement, result, reference, ratio, goal, met) per line of the summary table."""
    rows: list[tuple[str, ...]] = []
    load = results["load"]
    rows.append((
        "Load throughput",
        f"{_n(load['figures']['rows_per_second']['median'])} rows/s (`asp-telemetry load`)",
        f"{_n(load['reference']['rows_per_second']['median'])} rows/s (`psql \\copy`)",
        f"{load['ratio']:.2f}",
        "≥ 0.5",
        _met(load["throughput_met"]),
    ))
    memory = load["memory"]
    rows.append((
        "Load peak memory",
        f"{_n(memory['peak_mb_10x'])} MB for {_n(memory['rows_10x'])} rows",
        f"{_n(memory['peak_mb_1x'])} MB for {_n(memory['rows_1x'])} rows",
        f"{memory['ratio']:.2f}",
        "flat (≤ 1.25)",
        _met(memory["met"]),
    ))
    incremental = results["incremental"]
    rows.append((
        "Incremental dbt (+1% tasks)",
        f"{_n(incremental['figures']['seconds']['median'], 1)} s (`asp-telemetry build`)",
        f"{_n(incremental['reference']['seconds']['median'], 1)} s (`--full-refresh`)",
        f"{incremental['ratio']:.2f}",
        "≤ 0.15",
        _met(incremental["met"]),
    ))
    for query in results["queries"]["queries"]:
        rows.append((
            f"Query {query['query']}: {query['title']}",
            f"{_n(query['mart_ms'], 2)} ms (marts)",
            f"{_n(query['raw_ms'], 1)} ms (raw tables)",
            f"{_n(query['speedup'], 0)}×",
            "< 50 ms, ≥ 20×",
            _met(query["met"]),
        ))
    sdk = results["sdk"]
    rows.append((
        "SDK: cost per decorated call",
        f"{_n(sdk['figures']['added_us_per_call']['median'], 1)} µs added (caller's thread)",
        f"{_n(sdk['reference']['caller_us_per_call']['median'])} µs (an INSERT per metric)",
        f"{_n(sdk['caller_ratio'], 0)}× less",
        "< 20 µs",
        _met(sdk["met"]),
    ))
    rows.append((
        "SDK: delivery",
        f"{_n(sdk['figures']['writer_records_per_second_postgres']['median'])} records/s (background writer, COPY)",
        f"{_n(sdk['reference']['rows_per_second']['median'])} rows/s (an INSERT per metric)",
        f"{_n(sdk['ratio'], 0)}×",
        "—",
        "—",
    ))
    scale = results["scale"]
    first, last = scale["figures"]["points"][0], scale["figures"]["points"][-1]
    rows.append((
        f"Scale {_n(first['tasks'])} → {_n(last['tasks'])} tasks",
        f"load {_n(last['load_seconds'], 1)} s, build {_n(last['build_seconds'], 1)} s",
        f"load {_n(first['load_seconds'], 1)} s, build {_n(first['build_seconds'], 1)} s",
        f"{scale['ratio']:.2f} (time per task)",
        "≤ 1.1 (linear or better)",
        _met(scale["met"]),
    ))
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _summary_table(results: dict[str, Any]) -> str:
    return _table(("measurement", "result", "reference (same run)", "ratio", "goal", "met"), summary_rows(results))


def _machine_line(results: dict[str, Any]) -> str:
    machine = results["machine"]
    server = "embedded" if machine["server"] == "embedded" else "configured"
    return (f"{machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']} GB, "
            f"{machine['postgresql']} ({server} server), Python {machine['python']}")


def _analysis() -> dict[str, str]:
    if not ANALYSIS.exists():
        return {}
    sections: dict[str, str] = {}
    current = None
    for line in ANALYSIS.read_text().splitlines():
        heading = re.match(r"^## (\w+)\s*$", line)
        if heading:
            current = heading.group(1)
            sections[current] = ""
        elif current:
            sections[current] += line + "\n"
    return {name: text.strip() for name, text in sections.items()}


def markdown(results: dict[str, Any]) -> str:
    analysis = _analysis()
    settings, data = results["settings"], results["data_set"]
    load_average = results["load_average"]
    minutes, seconds = divmod(int(results["wall_seconds"]), 60)
    parts = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`bench/`) on {results['generated_at']} at commit `{results['commit']}`; "
        f"the run took {minutes} min {seconds:02d} s. Do not edit: run `make bench` again "
        "(`BENCH_TASKS=1000000 make bench` for a million tasks). The prose under each measurement comes from "
        "`bench/analysis.md`.",
        "",
        f"- Machine: {_machine_line(results)}.",
        f"- Load average (1, 5, 15 min) at the start {load_average['start']}, at the end {load_average['end']}. "
        "The machine is shared with other work (its load average shows how busy it was), so single figures "
        "are noisy: every figure is the median of repeated runs, with its range.",
        f"- Data set: {_n(data['tasks'])} synthetic tasks over {data['days']} days "
        f"(`asp-telemetry generate`): {', '.join(f'{_n(n)} {t}' for t, n in data['records'].items())} records, "
        f"{_n(data['rows_loaded'])} rows once loaded. "
        f"{settings['repeats']} run{'s' if settings['repeats'] != 1 else ''} of each measurement, "
        f"{settings['query_repeats']} of each query (after a warm-up).",
        "",
        "## Summary",
        "",
        _summary_table(results),
        "",
    ]
    if analysis.get("summary"):
        parts += [analysis["summary"], ""]
    parts += _load_section(results["load"], analysis)
    parts += _incremental_section(results["incremental"], analysis)
    parts += _queries_section(results["queries"], analysis)
    parts += _sdk_section(results["sdk"], analysis)
    parts += _scale_section(results["scale"], analysis)
    if analysis.get("method"):
        parts += ["## Method", "", analysis["method"], ""]
    return "\n".join(parts)


def _with_analysis(parts: list[str], analysis: dict[str, str], name: str) -> list[str]:
    if analysis.get(name):
        parts += [analysis[name], ""]
    return parts


def _load_section(load: dict[str, Any], analysis: dict[str, str]) -> list[str]:
    figures, reference, memory = load["figures"], load["reference"], load["memory"]
    rows = [
        ("`asp-telemetry load` (native JSON Lines)", _spread(figures["seconds"], "s"),
         _spread(figures["rows_per_second"], "rows/s", 0), _spread(figures["peak_memory_mb"], "MB", 0)),
        ("`psql \\copy` (CSV, same rows, same indexes)", _spread(reference["seconds"], "s"),
         _spread(reference["rows_per_second"], "rows/s", 0), "—"),
    ]
    parts = [
        "## 1. Load throughput",
        "",
        f"One file of the data set ({_n(figures['records_in_file'])} records, {_n(figures['rows'])} rows once "
        "loaded: tasks, defects, cost rows) into freshly migrated tables, alternately by the loader and by "
        f"psql. Ratio {load['ratio']:.2f} of `\\copy` (goal ≥ 0.5): {_met(load['throughput_met'])}.",
        "",
        _table(("", "time", "throughput", "peak memory"), rows),
        "",
        f"Peak memory (resident set of the `load` process): {_n(memory['peak_mb_1x'])} MB for "
        f"{_n(memory['rows_1x'])} rows, {_n(memory['peak_mb_10x'])} MB for the whole data set in one command "
        f"({_n(memory['rows_10x'])} rows, 10×): ratio {memory['ratio']:.2f}, flat: {_met(memory['met'])}.",
        "",
    ]
    return _with_analysis(parts, analysis, "load")


def _incremental_section(incremental: dict[str, Any], analysis: dict[str, str]) -> list[str]:
    figures, reference = incremental["figures"], incremental["reference"]
    parts = [
        "## 2. Incremental dbt",
        "",
        f"{_n(figures['new_tasks'])} new tasks (1%, about {_n(figures['new_records'][0])} records, created in the "
        "day before a later end, so they land on recent days) are loaded, then `asp-telemetry build` runs "
        "incrementally; then `asp-telemetry build --full-refresh` rebuilds the same data. Both are the whole "
        "`dbt build` (seeds, models, data tests, unit tests), timed as the command's wall time. "
        f"`incremental_lookback` is `{incremental['incremental_lookback']}` for these builds (see below).",
        "",
        _table(("", "wall time"), [
            ("`asp-telemetry build` (incremental, +1% tasks)", _spread(figures["seconds"], "s")),
            ("`asp-telemetry build` with nothing new", _spread(figures["nothing_new_seconds"], "s")),
            ("`asp-telemetry build --exclude-resource-type unit_test` with nothing new",
             f"{_n(figures['nothing_new_without_unit_tests_seconds'], 1)} s"),
            ("`asp-telemetry build --full-refresh`", _spread(reference["seconds"], "s")),
        ]),
        "",
        f"Ratio {incremental['ratio']:.2f} (goal ≤ 0.15): {_met(incremental['met'])}. A build with nothing "
        f"new costs {figures['nothing_new_seconds']['median'] / reference['seconds']['median']:.2f} of the full "
        "refresh: that share does not depend on the new data.",
        "",
    ]
    return _with_analysis(parts, analysis, "incremental")


def _queries_section(queries: dict[str, Any], analysis: dict[str, str]) -> list[str]:
    rows = []
    for query in queries["queries"]:
        raw, mart = query["raw"], query["mart"]
        rows.append((
            f"{query['query']}. {query['title']}",
            _spread(raw, "ms", 1), f"{_n(raw['server_ms'], 1)} ms",
            _spread(mart, "ms", 2), f"{_n(mart['server_ms'], 2)} ms",
            f"{_n(query['speedup'], 0)}×", _met(query["met"]),
        ))
    parts = [
        "## 3. BI queries",
        "",
        "Each query of the specification, verbatim on the raw tables (`search_path = raw`, the "
        "specification's indexes), against the same question asked of the marts (SQL in `bench/measure.py`, "
        "`MART_QUERIES`). Client time (execute and fetch) after one warm-up run, and the server's own time "
        "(planning and execution, `EXPLAIN ANALYZE`) of one run. raw.bootstrap_metrics holds "
        f"{queries['bootstrap_snapshot_rows']} rows: one bootstrap snapshot a day over the data set's period, "
        "as the served daily schedule leaves it.",
        "",
        _table(("query", "raw tables", "raw (server)", "marts", "marts (server)", "speedup", "met"), rows),
        "",
        "Goal: every mart query under 50 ms and at least 20× faster than on the raw tables.",
        "",
    ]
    return _with_analysis(parts, analysis, "queries")


def _sdk_section(sdk: dict[str, Any], analysis: dict[str, str]) -> list[str]:
    figures, reference = sdk["figures"], sdk["reference"]
    parts = [
        "## 4. SDK",
        "",
        "On the caller's thread, in loops of 20,000 calls: a function decorated with `@asp.track_agent` "
        "against the same bare function. *Typical* calls `asp.record_usage(...)` and "
        "`asp.record_tool_call(...)` inside (5 cost rows per call); *minimal* does nothing. The "
        "background writer runs meanwhile (default `jsonl` sink). Reference: the same call logging each "
        "of its 5 metrics with a synchronous INSERT (autocommit), as the specification's system did.",
        "",
        _table(("", "per call on the caller's thread"), [
            ("bare call", f"{_n(figures['bare_call_us'], 2)} µs"),
            ("decorated, minimal: added", _spread(figures["added_us_per_call_minimal"], "µs", 2)),
            ("decorated, typical: added", _spread(figures["added_us_per_call"], "µs", 2)),
            ("an INSERT per metric (5 per call)", _spread(reference["caller_us_per_call"], "µs", 0)),
        ]),
        "",
        f"Goal: under 20 µs added per call: {_met(sdk['met'])}. Against INSERTs on the caller's thread, "
        f"{_n(sdk['caller_ratio'], 0)}× less.",
        "",
        "Delivery: 20,000 typical calls (100,000 records) submitted as fast as the caller can, timed until "
        "`asp.flush()` returns.",
        "",
        _table(("", "records per second"), [
            ("background writer, `postgres` sink (COPY through the loader)",
             _spread(figures["writer_records_per_second_postgres"], "records/s", 0)),
            ("background writer, `jsonl` sink (inbox files)",
             _spread(figures["writer_records_per_second_jsonl"], "records/s", 0)),
            ("an INSERT per metric", _spread(reference["rows_per_second"], "rows/s", 0)),
        ]),
        "",
        f"The writer delivers {_n(sdk['ratio'], 0)}× the rows per second of synchronous INSERTs; "
        f"SDK errors {figures['errors']}, records dropped {figures['dropped']}.",
        "",
    ]
    return _with_analysis(parts, analysis, "sdk")


def _scale_section(scale: dict[str, Any], analysis: dict[str, str]) -> list[str]:
    rows = []
    for point in scale["figures"]["points"]:
        rows.append((
            _n(point["tasks"]), _n(point["cost_rows"]), f"{_n(point['load_seconds'], 1)} s",
            _n(point["load_rows_per_second"]), f"{_n(point['load_peak_memory_mb'])} MB",
            f"{_n(point['build_seconds'], 1)} s",
            str(point.get("load_exponent", "—")), str(point.get("build_exponent", "—")),
        ))
    parts = [
        "## 5. Scale",
        "",
        "`asp-telemetry load` of the whole data set and the first `asp-telemetry build`, each size in a fresh "
        "database (one run per size). The exponent is the growth of time against the growth of tasks from "
        "the size before (1 is linear). `BENCH_TASKS=1000000 make bench` adds the million.",
        "",
        _table(("tasks", "cost rows", "load", "load rows/s", "load peak memory", "first build",
                "load exponent", "build exponent"), rows),
        "",
        f"Time per task at the largest size against the smallest: load {scale['figures']['per_task_ratio_load']:.2f}, "
        f"build {scale['figures']['per_task_ratio_build']:.2f} (goal ≤ 1.1, linear or better): {_met(scale['met'])}.",
        "",
    ]
    return _with_analysis(parts, analysis, "scale")
