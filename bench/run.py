"""`make bench`: run every measurement, then write bench/results.json and docs/benchmarks.md.

    BENCH_TASKS=5000 .venv/bin/python -m bench     # a quick run; default 100,000 tasks
    .venv/bin/python -m bench --report             # docs/benchmarks.md again from bench/results.json
    .venv/bin/python -m bench --only incremental   # the data set, then only these sections
                                                   # (comma-separated); results in BENCH_DATA_DIR

A partial run (--only) writes its results to results-<sections>.json in the data directory
and prints them; it never touches bench/results.json or docs/benchmarks.md, which hold one
whole run.

Uses dedicated databases (asp_bench, asp_bench_scratch, asp_bench_template) on the
configured server or the embedded default; the user's own database is never touched.
asp_bench stays afterwards, holding the data set and its marts, for a closer look.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

from bench import growth, report
from bench.harness import (
    REPOSITORY,
    SCRATCH_DATABASE,
    Databases,
    Progress,
    Settings,
    git_commit,
    load_average,
    machine,
)
from bench.measure import (
    Run,
    measure_incremental,
    measure_load,
    measure_queries,
    measure_scale,
    measure_sdk,
    prepare_main,
    utc_hour,
)

RESULTS = REPOSITORY / "bench" / "results.json"
DOCUMENT = REPOSITORY / "docs" / "benchmarks.md"


SECTIONS = ("partitions", "compression", "retention", "conversion", "load", "queries", "incremental", "scale", "sdk")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="make bench: every measurement")
    parser.add_argument("--report", action="store_true",
                        help="write docs/benchmarks.md again from bench/results.json, measure nothing")
    parser.add_argument("--only", type=_sections, default=None, metavar="SECTION[,SECTION...]",
                        help=f"measure only these sections ({', '.join(SECTIONS)}) after preparing the data set")
    return parser.parse_args(argv)


def _sections(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown section(s) {', '.join(unknown) or text!r}; "
                                         f"known: {', '.join(SECTIONS)}")
    return names


def main() -> None:
    arguments = parse_arguments(sys.argv[1:])
    if arguments.report:
        write_reports(json.loads(RESULTS.read_text()))
        print(f"wrote {DOCUMENT.relative_to(REPOSITORY)} from {RESULTS.relative_to(REPOSITORY)}")
        return
    selected = set(arguments.only or SECTIONS)
    settings = Settings.from_environment()
    progress = Progress()
    started_at = datetime.now(UTC)
    load_at_start = load_average()
    databases = Databases()
    run = Run(settings=settings, progress=progress, databases=databases, end=utc_hour())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    about = machine(databases)
    progress(f"benchmark: {settings.tasks:,} tasks, {settings.repeats} repeats, on {databases.server.describe()} "
             f"({about['postgresql']}); {about['cores']} cores, load average {load_at_start}")

    results: dict[str, object] = {}
    try:
        prepare_main(run)
        for name, measure in (
            ("partitions", lambda: growth.measure_partitions(run.main_info, settings.query_repeats)),
            ("compression", lambda: growth.measure_compression(run.main_info)),
            ("retention", lambda: growth.measure_retention(databases, run.main.cost_rows)),
            ("conversion", lambda: growth.measure_conversion(databases, run.main.cost_rows)),
        ):
            if name not in selected:
                continue
            try:
                results[name] = measure()
            except Exception as error:  # one failed measurement must not lose the others: said in the report
                results[name] = {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"}
            progress(f"{name}: {json.dumps(results[name], default=str)[:400]}")
        for name, measure in (("load", measure_load), ("queries", measure_queries),
                              ("incremental", measure_incremental), ("scale", measure_scale), ("sdk", measure_sdk)):
            if name in selected:
                results[name] = measure(run)
    finally:
        databases.drop(SCRATCH_DATABASE)
        databases.drop_template()

    assert run.main is not None
    document = {
        "generated_at": started_at.isoformat(timespec="seconds"),
        "wall_seconds": round(progress.elapsed, 1),
        "commit": git_commit(),
        "machine": about,
        "load_average": {"start": load_at_start, "end": load_average()},
        "settings": {
            "tasks": settings.tasks,
            "repeats": settings.repeats,
            "query_repeats": settings.query_repeats,
            "incremental_lookback": settings.incremental_lookback,
        },
        "data_set": {
            "tasks": run.main.tasks,
            "records": run.main.records,
            "rows_loaded": run.main_rows,
            "days": settings.days,
            "end": run.main.end.isoformat(),
        },
        **results,
    }
    if arguments.only:
        partial = settings.data_dir / f"results-{'-'.join(arguments.only)}.json"
        partial.write_text(json.dumps(document, indent=2, default=_json_value) + "\n")
        progress(f"wrote {partial} (a partial run: bench/results.json and docs/benchmarks.md untouched)")
        print(json.dumps(results, indent=2, default=_json_value))
        return
    RESULTS.write_text(json.dumps(document, indent=2, default=_json_value) + "\n")
    write_reports(document)
    progress(f"wrote {RESULTS.relative_to(REPOSITORY)} and {DOCUMENT.relative_to(REPOSITORY)} "
             f"in {time.strftime('%M:%S', time.gmtime(progress.elapsed))}")
    for line in report.summary_rows(document):
        progress("  " + " | ".join(line))


def _json_value(value: object) -> object:
    """What json cannot write itself: numbers from the database (Decimal), moments."""
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def write_reports(results: dict) -> None:
    """docs/benchmarks.md from one run's results (`--report` redoes it from bench/results.json
    after bench/analysis.md changed)."""
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(report.markdown(results))


if __name__ == "__main__":
    main()
