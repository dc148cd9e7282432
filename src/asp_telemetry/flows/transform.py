"""`transform`: `dbt build` in-process, its node results published as a table artifact."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from asp_telemetry import build, build_plan, lake
from asp_telemetry.build import BuildResult, NodeSelector
from asp_telemetry.errors import BuildFailed, InvalidInput
from asp_telemetry.flows.common import database, database_task
from asp_telemetry.pipeline_lock import exclusive, exclusive_lake
from asp_telemetry.targets import Target, resolve_target


class DbtBuildFailed(BuildFailed):
    """The transform flow's build failed; the message names the failed nodes."""


@database_task()
def dbt_build(dbt_args: list[str]) -> BuildResult:
    return build.run_build(database(), dbt_args)


@database_task()
def planned_build(full_refresh: bool) -> BuildResult:
    planned, result = build_plan.run_planned_build(database(), full_refresh)
    logger = get_run_logger()
    logger.info("planned build: %s", planned.reason)
    for note in planned.notes():
        logger.info("planned build: %s", note)
    return result


@task()
def spark_build(dbt_args: list[str]) -> BuildResult:
    """The build on Spark (profiles.yml's spark target), over the lake's datasets."""
    return build.run_build(None, dbt_args, target="spark")


@flow(name="transform")
def transform(
    select: list[NodeSelector] | None = None, full_refresh: bool = False, changed_only: bool = False,
    unit_tests: bool = True, target: Target | None = None,
) -> BuildResult:
    """Build (and test) the dbt project; fail naming the failed nodes.

    `select` holds dbt node selectors only (validated with the run's parameters: a value
    that is not one fails the run before anything is built). `changed_only` (the schedule's
    builds): only what is downstream of a raw table that changed since the last such build,
    nothing when none did, without unit tests (build_plan.py); `select` then must be empty.
    `unit_tests=False`: a build of data that leaves the project's unit tests to CI (the
    schedule's builds after a bootstrap snapshot). target spark ($ASP_TARGET): dbt-spark over
    the lake; changed_only is then a full build (the lake keeps no change markers:
    incremental models take what is new)."""
    logger = get_run_logger()
    selectors = [build.check_selector(item) for item in select or []]
    if changed_only and selectors:
        raise InvalidInput("transform: changed_only selects by itself; give no select with it")
    args = [*(["--select", *selectors] if selectors else []), *(["--full-refresh"] if full_refresh else []),
            *([] if unit_tests else build_plan.WITHOUT_UNIT_TESTS)]
    if resolve_target(target) == "spark":
        with exclusive_lake(lake.lake_dir()):
            result = spark_build(args)
    else:
        with exclusive(database()):
            result = planned_build(full_refresh) if changed_only else dbt_build(args)
    if result.skipped:
        logger.info("dbt build: %s", result.summary_line())
        return result
    create_table_artifact(
        key="dbt-build-results",
        table=[
            {"node": node.name, "type": node.resource_type, "status": node.status,
             "seconds": round(node.execution_time, 2), "failures": node.failures or 0}
            for node in result.nodes
        ],
        description=f"dbt build: {result.summary_line()}",
    )
    logger.info("dbt build: %s", result.summary_line())
    if not result.success:
        failed = ", ".join(node.label for node in result.failed_nodes) or result.error
        raise DbtBuildFailed(f"dbt build failed: {failed}")
    return result
