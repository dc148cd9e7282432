"""`asp-telemetry run`, `snapshot` and `serve`: the Prefect pipeline from the terminal."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from asp_telemetry import connection, migrations
from asp_telemetry.cli import tables as layout
from asp_telemetry.cli.app import app, command, console, handle_errors, quiet_prefect


def use_inbox(inbox: Path | None) -> None:
    """--inbox configures the inbox for this process and the flows it runs ($ASP_INBOX): the
    ingest flow reads the configured inbox only."""
    if inbox is not None:
        os.environ["ASP_INBOX"] = str(inbox.expanduser().resolve())


def _utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


@app.command("run")
@handle_errors
def run(
    inbox: Annotated[Path | None, typer.Option(help="Inbox to ingest (default $ASP_INBOX or $ASP_HOME/inbox).")] = None,
    skip_ingest: Annotated[bool, typer.Option("--skip-ingest", help="Do not load the inbox.")] = False,
    skip_snapshot: Annotated[bool, typer.Option("--skip-snapshot", help="No bootstrap snapshot.")] = False,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Rebuild incremental models.")] = False,
    lock_wait: Annotated[float, typer.Option(help="Seconds to wait for another pipeline.")] = 3600,
    target: Annotated[str | None, typer.Option(
        "--target", help="postgres, or spark (the inbox into the lake, the build on Spark); default $ASP_TARGET.",
    )] = None,
) -> None:
    """Run the pipeline once, now: ingest, build, snapshot, build the bootstrap marts, write back."""
    from asp_telemetry.targets import resolve_target

    chosen = resolve_target(target)
    quiet_prefect()
    use_inbox(inbox)
    from asp_telemetry.cli.summary import print_pipeline_result
    from asp_telemetry.flows.pipeline import pipeline

    result = pipeline(
        inbox_dir=None, skip_ingest=skip_ingest, skip_snapshot=skip_snapshot,
        full_refresh=full_refresh, lock_wait_s=lock_wait, target=chosen,
    )
    print_pipeline_result(result)


@app.command("snapshot")
@handle_errors
def snapshot(
    start: Annotated[datetime | None, typer.Option(help="Period start (ISO 8601; UTC without an offset).")] = None,
    end: Annotated[datetime | None, typer.Option(help="Period end, exclusive (default: now).")] = None,
    target: Annotated[str | None, typer.Option(
        "--target", help="postgres, or spark (built on Spark, recorded into the lake); default $ASP_TARGET.",
    )] = None,
) -> None:
    """Write the bootstrap snapshot of [start, end) (default: the last 14 days) and rebuild its mart."""
    from asp_telemetry import snapshot as snapshot_lib
    from asp_telemetry.build_plan import WITHOUT_UNIT_TESTS
    from asp_telemetry.pipeline_lock import exclusive, exclusive_lake
    from asp_telemetry.targets import resolve_target

    status_build = ["--select", *snapshot_lib.STATUS_MARTS, *WITHOUT_UNIT_TESTS]
    if resolve_target(target) == "spark":
        from asp_telemetry import lake
        from asp_telemetry.lake import paths as lake_paths
        from asp_telemetry.lake import snapshot as lake_snapshot

        with exclusive_lake(lake.lake_dir()):
            result = lake_snapshot.take(lake.lake_dir(), lake_paths.warehouse_dir(), _utc(start), _utc(end))
            lake_snapshot.build_or_fail(status_build, "mart_bootstrap_status")
    else:
        info = connection.resolve()
        with exclusive(info):
            result = snapshot_lib.take(info, _utc(start), _utc(end))
            snapshot_lib.build_or_fail(info, status_build, "mart_bootstrap_status")
    console.print(f"snapshot {result.start:%Y-%m-%d %H:%M} – {result.end:%Y-%m-%d %H:%M} UTC: "
                  f"{len(result.capabilities)} capabilities"
                  + (f" (replaced {result.replaced_rows} earlier rows of this period)" if result.replaced_rows else ""))
    for capability in result.capabilities:
        console.print(f"  {capability.capability_name}: {capability.graduation_notes}", highlight=False)


@app.command("serve")
@handle_errors
def serve(
    inbox: Annotated[Path | None, typer.Option(help="Inbox to ingest (default $ASP_INBOX or $ASP_HOME/inbox).")] = None,
    ingest_every: Annotated[int, typer.Option(help="Seconds between ingests.")] = 300,
    transform_cron: Annotated[str, typer.Option(help="Cron (UTC) of dbt builds.")] = "0 * * * *",
    snapshot_cron: Annotated[str, typer.Option(help="Cron (UTC) of bootstrap snapshots.")] = "0 2 * * *",
    write_back_cron: Annotated[str, typer.Option(help="Cron (UTC) of the write-back.")] = "30 * * * *",
    collect: Annotated[bool, typer.Option(
        "--collect/--no-collect", help="Run the OTLP/HTTP collector (`asp-telemetry collect`) beside the flows.",
    )] = True,
    collect_listen: Annotated[str, typer.Option(help="HOST:PORT of the collector.")] = "127.0.0.1:4318",
    allow_anonymous: Annotated[bool, typer.Option(
        "--allow-anonymous", help="The collector accepts requests without a token (loopback only).",
    )] = False,
) -> None:
    """Serve the flows on schedules until interrupted (Prefect; ephemeral unless PREFECT_API_URL is set),
    and the OTLP/HTTP collector beside them."""
    quiet_prefect(keep_logs=True)
    use_inbox(inbox)
    collector = None
    if collect:
        from asp_telemetry.collector import Collector, CollectorOptions, parse_listen

        host, port = parse_listen(collect_listen)
        options = CollectorOptions(host=host, port=port, allow_anonymous=allow_anonymous)
        info = connection.resolve()
        if info.source == "embedded":
            migrations.upgrade(info)
        collector = Collector(info, options)
        collector.start_in_thread()
        collector.wait_started()
        console.print(f"collecting OTLP/HTTP traces on http://{collect_listen}/v1/traces", highlight=False)
    from asp_telemetry.flows import serve as serving

    items = serving.deployments(inbox_dir=None, ingest_interval_s=ingest_every, transform_cron=transform_cron,
                                snapshot_cron=snapshot_cron, write_back_cron=write_back_cron)
    print_schedules(serving.describe(items))
    try:
        serving.serve_flows(items)
    finally:
        if collector is not None:
            collector.stop()


def print_schedules(scheduled: list) -> None:
    table = layout.table("Serving these flows until Ctrl-C", layout.text("flow/deployment"),
                         layout.text("schedule (UTC)"), layout.text("next run (UTC)"))
    for item in scheduled:
        table.add_row(item.deployment, item.schedule, f"{item.next_run:%Y-%m-%d %H:%M}" if item.next_run else "-")
    console.print(table)
    console.print("Run the whole pipeline now, from another shell:", highlight=False)
    console.print(f"  {command()} run", highlight=False, soft_wrap=True)
    if os.environ.get("PREFECT_API_URL"):
        first = scheduled[0].deployment if scheduled else "ingest/asp-ingest"
        console.print("Or one served flow, on this Prefect server:", highlight=False)
        console.print(f"  prefect deployment run {first}", highlight=False, soft_wrap=True)
    else:
        console.print("(These deployments live in a temporary Prefect server of this process: set PREFECT_API_URL "
                      "to serve them on a server that `prefect deployment run` can reach.)", highlight=False)
    console.file.flush()  # before Prefect takes over: a log file or pipe gets it now, not at exit
