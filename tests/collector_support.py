"""A running collector for tests: in-process (uvicorn in a thread) or as `asp-telemetry
collect` in a subprocess, and polling with a deadline (never a fixed sleep)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from load_support import query
from support import CLI, cli_environment, free_port

from asp_telemetry.collector import Collector, CollectorOptions
from asp_telemetry.connection import ConnectionInfo

DEADLINE_S = 60.0


def wait_for(check: Callable[[], Any], what: str, deadline_s: float = DEADLINE_S) -> Any:
    """Poll `check` until it returns something true, or fail saying what never happened."""
    end = time.monotonic() + deadline_s
    delay = 0.02
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"after {deadline_s:g} s: {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def running_collector(db: ConnectionInfo, spool: Path, **options: Any) -> Iterator[tuple[Collector, str]]:
    """A collector serving on a free loopback port: (collector, base URL)."""
    settings = {"allow_anonymous": True, "settle_s": 0.2, "hold_s": 10.0, "flush_s": 0.1, **options}
    collector = Collector(db, CollectorOptions(port=free_port(), spool=spool, **settings))
    thread = collector.start_in_thread()
    url = f"http://127.0.0.1:{collector.options.port}"
    try:
        wait_for(lambda: healthy(url), f"the collector at {url} answers /health")
        yield collector, url
    finally:
        collector.stop()
        thread.join(60)


@contextmanager
def collect_process(db: ConnectionInfo, spool: Path, *args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """`asp-telemetry collect` in a subprocess: (process, base URL)."""
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "collect", "--listen", f"127.0.0.1:{port}", "--spool", str(spool), "--settle", "0.2", *args],
        env=cli_environment(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"collect exited {process.returncode}: {process.stderr.read()}")
            return healthy(url)

        wait_for(up, f"`asp-telemetry collect` answers on {url}")
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cost_rows(db: ConnectionInfo) -> list[tuple]:
    return query(db, """
        select task_id, agent_role, metric_type, metric_value, llm_model, metadata->>'execution_id'
        from raw.agent_cost_vector order by task_id, agent_role, metric_type, metadata->>'execution_id'""")
