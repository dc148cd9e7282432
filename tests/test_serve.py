"""Scheduled flows: `asp-telemetry serve` registers its deployments with Prefect, and
prefect.yaml deploys the same flows on the same schedules."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from collector_support import healthy, wait_for
from prefect.flows import load_flow_from_entrypoint
from support import PROJECT_DIR, cli_environment, free_port

from asp_telemetry.flows.serve import deployments, describe

EXPECTED = {
    "asp-ingest": ("flows/ingest.py:ingest", "interval", 300),
    "asp-transform": ("flows/transform.py:transform", "cron", "0 * * * *"),
    "asp-bootstrap-snapshot": ("flows/bootstrap_snapshot.py:bootstrap_snapshot", "cron", "0 2 * * *"),
    "asp-write-back": ("flows/write_back.py:write_back", "cron", "30 * * * *"),
    "asp-retention": ("flows/retention.py:retention", "cron", "15 3 * * *"),
}


def _schedule(deployment_schedule) -> tuple[str, object]:
    schedule = deployment_schedule.schedule
    if hasattr(schedule, "cron"):
        assert schedule.timezone == "UTC"
        return "cron", schedule.cron
    return "interval", int(schedule.interval.total_seconds())


def test_served_deployments_and_their_default_schedules():
    found = {d.name: (d.entrypoint, *_schedule(d.schedules[0])) for d in deployments()}
    # served flows are found in the installed package, whatever the working directory
    assert found == {
        name: ("asp_telemetry." + entrypoint.removesuffix(".py:" + entrypoint.rsplit(":")[1]).replace("/", ".")
               + "." + entrypoint.rsplit(":")[1], kind, value)
        for name, (entrypoint, kind, value) in EXPECTED.items()
    }


def test_schedules_can_be_overridden_and_are_checked():
    served = {d.name: d for d in deployments(inbox_dir="/data/inbox", ingest_interval_s=60, snapshot_cron="0 3 * * *")}
    assert _schedule(served["asp-ingest"].schedules[0]) == ("interval", 60)
    assert served["asp-ingest"].parameters == {"inbox_dir": "/data/inbox"}
    assert _schedule(served["asp-bootstrap-snapshot"].schedules[0]) == ("cron", "0 3 * * *")
    with pytest.raises(ValueError, match="--ingest-every must be at least 1 second"):
        deployments(ingest_interval_s=0)


def test_prefect_yaml_deploys_the_same_flows_on_the_same_schedules():
    config = yaml.safe_load((PROJECT_DIR / "prefect.yaml").read_text())
    by_name = {d["name"]: d for d in config["deployments"]}
    for name, (entrypoint, kind, value) in EXPECTED.items():
        deployment = by_name[name]
        assert deployment["entrypoint"] == entrypoint
        [schedule] = deployment["schedules"]
        assert schedule[kind] == value
        assert schedule.get("timezone", "UTC") == "UTC"
    for deployment in config["deployments"]:
        flow = load_flow_from_entrypoint(str(PROJECT_DIR / deployment["entrypoint"]))
        assert flow.name == deployment["entrypoint"].rsplit(":", 1)[1]


def test_serve_registers_the_deployments_with_the_prefect_server(prefect_server, db, tmp_path):
    from prefect.client.orchestration import get_client

    env = cli_environment(db, PREFECT_API_URL=prefect_server, ASP_HOME=str(tmp_path), COLUMNS="80")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "asp_telemetry", "serve", "--ingest-every", "120",
                                "--collect-listen", f"127.0.0.1:{port}"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)

    async def registered() -> dict[str, list]:
        async with get_client() as client:
            found = await client.read_deployments()
            return {d.name: d.schedules for d in found if d.name in EXPECTED}

    try:
        deadline = time.monotonic() + 600
        found: dict = {}
        while time.monotonic() < deadline and len(found) < len(EXPECTED):
            time.sleep(2)
            assert process.poll() is None, process.stdout.read()
            found = asyncio.run(registered())
        # The collector runs beside the flows: it answers, and a token it does not know is refused.
        health = wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), "serve's collector answers /health")
        assert health
        refused = httpx.post(f"http://127.0.0.1:{port}/v1/traces", content=b"{}",
                             headers={"Content-Type": "application/json", "Authorization": "Bearer nope"})
        assert refused.status_code == 401
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    assert set(found) == set(EXPECTED)
    assert _schedule(found["asp-ingest"][0]) == ("interval", 120)
    assert _schedule(found["asp-transform"][0]) == ("cron", "0 * * * *")
    # what is scheduled when, and a way to start a run that works from another shell
    output = process.stdout.read()
    assert "ingest/asp-ingest" in output and "every 2 min" in output
    assert "cron 0 2 * * *" in output and "schedule (UTC)" in output
    assert "Run the whole pipeline now, from another shell:" in output
    assert "prefect deployment run ingest/asp-ingest" in output  # PREFECT_API_URL is set: a real server


def test_describe_says_what_runs_when():
    now = datetime(2026, 3, 1, 1, 10, tzinfo=UTC)
    found = {item.deployment: item for item in describe(deployments(), now=now)}
    assert found["bootstrap_snapshot/asp-bootstrap-snapshot"].next_run == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert found["write_back/asp-write-back"].next_run == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    assert found["ingest/asp-ingest"].schedule == "every 5 min" and found["ingest/asp-ingest"].next_run == now


def test_prefect_deploy_all_from_a_project_directory_needs_no_variable(prefect_server, tmp_path):
    """`prefect deploy --all` in a project (here a copy made by `init`) records that directory
    as the runs' working directory, and a run started from its entrypoints uses its models."""
    from prefect.client.orchestration import get_client

    project = tmp_path / "team-project"
    env = {key: value for key, value in os.environ.items() if key != "ASP_PROJECT_DIR"}
    env.update(PREFECT_API_URL=prefect_server, COLUMNS="200")
    subprocess.run([sys.executable, "-m", "asp_telemetry", "init", str(project)], env=env, check=True,
                   capture_output=True, timeout=120)
    prefect = str(Path(sys.executable).parent / "prefect")
    subprocess.run([prefect, "work-pool", "create", "asp-telemetry", "--type", "process", "--overwrite"],
                   env=env, cwd=project, check=True, capture_output=True, timeout=300)
    deployed = subprocess.run([prefect, "--no-prompt", "deploy", "--all"], env=env, cwd=project,
                              capture_output=True, text=True, timeout=600)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    async def read() -> dict:
        async with get_client() as client:
            return {d.name: d for d in await client.read_deployments()}

    found = asyncio.run(read())
    config = yaml.safe_load((project / "prefect.yaml").read_text())
    for item in config["deployments"]:
        deployment = found[item["name"]]
        assert deployment.entrypoint == item["entrypoint"]
        assert deployment.pull_steps == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(project.resolve())}}
        ]
        assert all(schedule.active for schedule in deployment.schedules)

    # what a worker does: change into the recorded directory, load the entrypoint
    worker = subprocess.run(
        [sys.executable, "-c",
         "import os; from prefect.flows import load_flow_from_entrypoint; from asp_telemetry import paths;"
         f"os.chdir({str(project)!r}); flow = load_flow_from_entrypoint('flows/pipeline.py:pipeline');"
         "print(flow.name, *paths.project())"],
        env=env, cwd="/", capture_output=True, text=True, timeout=300,
    )
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.split() == ["pipeline", str(project.resolve()), "configured"]
