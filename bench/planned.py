"""A planned build as the schedule runs it, in a process of its own (timed by the bench):

    python -m bench.planned [--full-refresh] [dbt args: --target-path DIR --vars YAML]

build_plan.run_planned_build on the configured database; prints the plan's reason and the
build's summary line; exits 1 when the build failed."""

from __future__ import annotations

import sys

from asp_telemetry import build_plan, connection


def main() -> None:
    args = sys.argv[1:]
    full_refresh = "--full-refresh" in args
    extra = [arg for arg in args if arg != "--full-refresh"]
    planned, result = build_plan.run_planned_build(connection.resolve(), full_refresh, dbt_args=extra)
    print(f"planned: {planned.reason}")
    print(result.summary_line())
    if not result.success:
        sys.exit(1)


if __name__ == "__main__":
    main()
