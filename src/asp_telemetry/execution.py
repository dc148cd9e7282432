"""One agent execution and the cost rows it becomes (raw.agent_cost_vector: one row per
metric).

Every producer of executions (the SDK, the OTLP and Langfuse mappers, the generator) fills
an `Execution` and calls `cost_rows()`. The metric types an execution reports, their units,
which of them are totals reported once per execution (identity.py), and the rule for what is
left out are here only: a metric whose value is None is absent and makes no row; zero is a
measurement and makes one. Each producer says what is absent in its input (the SDK reports
no tokens for a run that recorded none; OTLP reports Tool_Calls even when 0).

A new metric type is one line below (and its row in seeds/metric_types.csv, which a test
holds the units to).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class MetricType:
    name: str  # metric_type, as in seeds/metric_types.csv
    unit: str
    once_per_execution: bool = True  # a total of the execution (False: an observation, maybe several)


def metric(name: str, unit: str, once_per_execution: bool = True) -> Any:
    return field(default=None, metadata={"metric": MetricType(name, unit, once_per_execution)})


@dataclass(slots=True)
class Execution:
    """What an agent execution reports. Values are passed as the source gave them: the loader's
    validation (records.py) says what is wrong with one, and rejects the execution whole."""

    task_id: Any
    agent_role: Any
    execution_id: Any  # the execution's identity within its task (identity.cost_key)
    timestamp: Any = None  # when it started
    subtask_id: Any = None
    project_id: Any = None
    agent_version: Any = None
    agent_iteration: Any = None  # 1 when not given
    llm_model: Any = None
    llm_provider: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)  # more about it (source, status...)
    # The metrics, in the order of their rows: one line per metric type.
    latency_ms: Any = metric("Latency", "ms")
    tokens_in: Any = metric("Tokens_In", "tokens")
    tokens_out: Any = metric("Tokens_Out", "tokens")
    # Included in tokens_in by the conventions (OpenTelemetry GenAI, OpenInference, Langfuse):
    # the price step charges them at their own rate instead of the input rate, never twice.
    cache_read_tokens: Any = metric("Tokens_Cache_Read", "tokens")
    cache_write_tokens: Any = metric("Tokens_Cache_Write", "tokens")
    cost_usd: Any = metric("API_Cost", "USD")
    tool_calls: Any = metric("Tool_Calls", "count")
    retries: Any = metric("Retries", "count")
    memory_mb: Any = metric("Memory_Usage", "MB", once_per_execution=False)
    # Metrics of other types (the SDK's record_metric): (metric_type, value, unit).
    other_metrics: list[tuple[str, Any, str]] = field(default_factory=list)

    def cost_rows(self) -> list[dict[str, Any]]:
        """The native agent_cost_vector records of this execution, one per metric present."""
        base = {
            "record": "agent_cost_vector",
            "timestamp": self.timestamp,
            "task_id": self.task_id,
            "subtask_id": self.subtask_id,
            "project_id": self.project_id,
            "agent_role": self.agent_role,
            "agent_version": self.agent_version,
            "agent_iteration": 1 if self.agent_iteration is None else self.agent_iteration,
            "llm_model": self.llm_model,
            "llm_provider": self.llm_provider,
            "metadata": {"execution_id": self.execution_id, **self.metadata},
        }
        measured = [(m.name, getattr(self, name), m.unit) for name, m in METRIC_FIELDS]
        return [
            {**base, "metric_type": metric_type, "metric_value": value, "metric_unit": unit}
            for metric_type, value, unit in measured + self.other_metrics
            if value is not None
        ]


METRIC_FIELDS: tuple[tuple[str, MetricType], ...] = tuple(
    (f.name, f.metadata["metric"]) for f in fields(Execution) if "metric" in f.metadata
)
METRIC_TYPES: dict[str, MetricType] = {m.name: m for _, m in METRIC_FIELDS}
# Totals of an execution: a second report of one for the same execution is the same row.
ONCE_PER_EXECUTION = frozenset(m.name for m in METRIC_TYPES.values() if m.once_per_execution)
