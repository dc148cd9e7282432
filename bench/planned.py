"""A planned build as the schedule runs it, in a process of its own (timed by the bench):

    python -m bench.planned [--full-refresh] [dbt args: --target-path DIR --vars YAML]

build_plan.run_planned_build on the configured database; prints the plan's reason, the
build's summary line and dbt's seconds per model (execution_time of each node, as run_results.json
would hold them: a scheduled build writes no run_results.json); exits 1 when the build failed."""

from __future__ import annotations

import json
import sys

from asp_telemetry import build_plan, connection

MODEL_SECONDS = "model seconds: "


def main() -> None:
    args = sys.argv[1:]
    full_refresh = "--full-refresh" in args
    extra = [arg for arg in args if arg != "--full-refresh"]
    planned, result = build_plan.run_planned_build(connection.resolve(), full_refresh, dbt_args=extra)
    print(f"planned: {planned.reason}")
    print(result.summary_line())
    seconds = {node.name: node.execution_time for node in result.nodes if node.resource_type == "model"}
    print(f"{MODEL_SECONDS}{json.dumps(seconds)}")
    if not result.success:
        sys.exit(1)


if __name__ == "__main__":
    main()
