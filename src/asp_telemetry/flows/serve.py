"""Serve the flows on schedules from this process (`asp-telemetry serve`): no work pool needed.
Teams with a Prefect server can deploy the same flows to a work pool with prefect.yaml."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from prefect import serve
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron, Interval
from pydantic import BaseModel

from asp_telemetry.errors import InvalidInput
from asp_telemetry.flows.bootstrap_snapshot import bootstrap_snapshot
from asp_telemetry.flows.ingest import ingest
from asp_telemetry.flows.retention import retention
from asp_telemetry.flows.transform import transform
from asp_telemetry.flows.write_back import write_back

DEFAULT_INGEST_INTERVAL_S = 300
DEFAULT_TRANSFORM_CRON = "0 * * * *"
DEFAULT_SNAPSHOT_CRON = "0 2 * * *"
DEFAULT_WRITE_BACK_CRON = "30 * * * *"
DEFAULT_RETENTION_CRON = "15 3 * * *"
MODULE = EntrypointType.MODULE_PATH


def deployments(
    inbox_dir: str | None = None,
    ingest_interval_s: int = DEFAULT_INGEST_INTERVAL_S,
    transform_cron: str = DEFAULT_TRANSFORM_CRON,
    snapshot_cron: str = DEFAULT_SNAPSHOT_CRON,
    write_back_cron: str = DEFAULT_WRITE_BACK_CRON,
) -> list[RunnerDeployment]:
    """The scheduled deployments (cron schedules in UTC). Their entrypoints are module paths
    (asp_telemetry.flows.ingest.ingest): the installed package, wherever it is."""
    if ingest_interval_s < 1:
        raise InvalidInput(f"--ingest-every must be at least 1 second (got {ingest_interval_s})")
    return [
        ingest.to_deployment(name="asp-ingest", schedules=[Interval(ingest_interval_s)],
                             parameters={"inbox_dir": inbox_dir}, entrypoint_type=MODULE),
        transform.to_deployment(name="asp-transform", schedules=[Cron(transform_cron, timezone="UTC")],
                                parameters={"changed_only": True}, entrypoint_type=MODULE),
        bootstrap_snapshot.to_deployment(name="asp-bootstrap-snapshot",
                                         schedules=[Cron(snapshot_cron, timezone="UTC")], entrypoint_type=MODULE),
        write_back.to_deployment(name="asp-write-back", schedules=[Cron(write_back_cron, timezone="UTC")],
                                 entrypoint_type=MODULE),
        retention.to_deployment(name="asp-retention", schedules=[Cron(DEFAULT_RETENTION_CRON, timezone="UTC")],
                                entrypoint_type=MODULE),
    ]


class Scheduled(BaseModel):
    """One served deployment: what runs when."""

    deployment: str  # flow/deployment, as `prefect deployment run` names it
    schedule: str
    next_run: datetime | None


def describe(items: list[RunnerDeployment], now: datetime | None = None) -> list[Scheduled]:
    """What each deployment runs when, and its next run after `now` (an interval's first run
    is at once)."""
    from prefect.server.schemas.schedules import CronSchedule

    now = now or datetime.now(UTC)
    found = []
    for item in items:
        for entry in item.schedules or []:
            schedule = entry.schedule
            if hasattr(schedule, "cron"):
                [next_run] = asyncio.run(
                    CronSchedule(cron=schedule.cron, timezone=schedule.timezone).get_dates(n=1, start=now)
                )
                zone = schedule.timezone or "UTC"
                text = f"cron {schedule.cron}" + ("" if zone == "UTC" else f" ({zone})")
            else:
                seconds = int(schedule.interval.total_seconds())
                next_run, text = now, f"every {seconds} s" if seconds % 60 else f"every {seconds // 60} min"
            found.append(Scheduled(deployment=f"{item.flow_name}/{item.name}", schedule=text,
                                   next_run=next_run.astimezone(UTC)))
    return found


def serve_flows(items: list[RunnerDeployment]) -> None:
    """Serve the deployments from this process until interrupted (the caller says what is
    scheduled: Prefect's own hint, `prefect deployment run`, cannot reach a temporary server)."""
    serve(*items, print_starting_message=False)
