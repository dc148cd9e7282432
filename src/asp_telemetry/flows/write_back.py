"""`write_back`: the specification's derived task columns, filled from the marts."""

from __future__ import annotations

from prefect import flow, get_run_logger

from asp_telemetry import write_back as write_back_lib
from asp_telemetry.flows.common import database, database_task
from asp_telemetry.pipeline_lock import exclusive
from asp_telemetry.write_back import WriteBackResult


@database_task()
def update_tasks() -> WriteBackResult:
    return write_back_lib.write_back(database())


@flow(name="write_back")
def write_back() -> WriteBackResult:
    """Fill actual_cost_vector_json, defect_count and defect_density of raw.task_metadata."""
    logger = get_run_logger()
    with exclusive(database()):
        result = update_tasks()
    logger.info("write-back: %d task(s) updated", result.tasks_updated)
    if result.densities_too_large:
        logger.warning("%d task(s) have a defect density of 100 or more, which numeric(5,3) cannot hold: "
                       "left NULL", result.densities_too_large)
    return result
