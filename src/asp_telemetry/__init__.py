"""asp-telemetry: telemetry and PSP analytics for AI-agent software pipelines.

`import asp_telemetry as asp` gives the instrumentation SDK (see `asp_telemetry.sdk`).
"""

from asp_telemetry.sdk import (
    AgentRun,
    SdkConfig,
    SdkStats,
    agent_run,
    configure,
    current_run,
    flush,
    record_defect,
    record_metric,
    record_task,
    record_tool_call,
    record_usage,
    stats,
    task,
    track_agent,
)

__version__ = "0.1.0"

__all__ = [
    "AgentRun", "SdkConfig", "SdkStats", "agent_run", "configure", "current_run", "flush", "record_defect",
    "record_metric", "record_task", "record_tool_call", "record_usage", "stats", "task", "track_agent",
]
