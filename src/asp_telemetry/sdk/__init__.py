"""Instrumentation SDK: `import asp_telemetry as asp`, then `@asp.track_agent(role="Code")`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from asp_telemetry.sdk import delivery as _delivery
from asp_telemetry.sdk import otel as _otel
from asp_telemetry.sdk.config import SdkConfig
from asp_telemetry.sdk.delivery import SdkStats
from asp_telemetry.sdk.runs import (
    AgentRun,
    agent_run,
    current_run,
    record_metric,
    record_tool_call,
    record_usage,
    task,
    track_agent,
)
from asp_telemetry.sdk.tasks_and_defects import record_defect, record_task


def configure(
    sink: Literal["jsonl", "postgres"] | None = None,
    spool_dir: str | Path | None = None,
    max_queue: int | None = None,
    batch_size: int | None = None,
    flush_interval_s: float | None = None,
    database_url: str | None = None,
    otel: bool | None = None,
) -> SdkConfig:
    """Choose where records go; unset arguments keep the ASP_SDK_* environment's values.

    Records queued under the previous configuration are delivered first.
    """
    config = SdkConfig.from_environment(
        sink=sink, spool_dir=spool_dir, max_queue=max_queue, batch_size=batch_size,
        flush_interval_s=flush_interval_s, database_url=database_url, otel=otel,
    )
    _otel.enable(config.otel)
    _delivery.configure(config)
    return config


def flush(timeout: float | None = 10.0) -> bool:
    """Wait until every record so far is delivered; False if `timeout` seconds passed first."""
    return _delivery.writer().flush(timeout)


def stats() -> SdkStats:
    """Counters of this process's SDK: delivered, spooled, dropped, errors."""
    return _delivery.writer().stats


__all__ = [
    "AgentRun", "SdkConfig", "SdkStats", "agent_run", "configure", "current_run", "flush", "record_defect",
    "record_metric", "record_task", "record_tool_call", "record_usage", "stats", "task", "track_agent",
]
