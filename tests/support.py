"""Helpers shared by tests: running the CLI as a user would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from asp_telemetry import connection
from asp_telemetry.connection import ConnectionInfo

PROJECT_DIR = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "asp_telemetry"]


def cli_environment(info: ConnectionInfo, **extra: str) -> dict[str, str]:
    """The environment for an `asp-telemetry` subprocess that must use `info`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in connection.LIBPQ_VARIABLES and key != "ASP_DATABASE_URL"
    }
    env.update(info.libpq_environment())
    env["ASP_PROJECT_DIR"] = str(PROJECT_DIR)
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None, check: bool = True, input: str | None = None):
    result = subprocess.run(
        [*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, input=input, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"asp-telemetry {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def point_environment_at(patch, info: ConnectionInfo) -> None:
    """Make everything that resolves the configured database (flows, SDK sinks) use `info`."""
    patch.delenv("ASP_DATABASE_URL", raising=False)
    for name in connection.LIBPQ_VARIABLES:
        patch.delenv(name, raising=False)
    for name, value in info.libpq_environment().items():
        patch.setenv(name, value)


def free_port() -> int:
    """A TCP port nothing listens on at the moment (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
