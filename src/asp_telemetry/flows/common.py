"""What the flows share: the database to use and the retry policy for transient errors."""

from __future__ import annotations

import psycopg
from prefect import Task, task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from asp_telemetry import connection
from asp_telemetry.connection import ConnectionInfo, DatabaseUnavailable

TRANSIENT_RETRIES = 3
RETRY_DELAYS_S = [2, 10, 30]


def retry_on_transient_database_error(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry a task when the database dropped or refused the connection, not on bad data."""
    try:
        state.result()
    except (DatabaseUnavailable, psycopg.OperationalError, psycopg.errors.SerializationFailure,
            psycopg.errors.DeadlockDetected):
        return True
    except Exception:  # noqa: BLE001 - anything else is not transient
        return False
    return False


def database_task(**options):
    """A Prefect task that touches the database: retried on transient database errors only."""
    return task(retries=TRANSIENT_RETRIES, retry_delay_seconds=RETRY_DELAYS_S,
                retry_condition_fn=retry_on_transient_database_error, **options)


def database() -> ConnectionInfo:
    """The configured database (ASP_DATABASE_URL, PG* or the embedded server)."""
    return connection.resolve()
