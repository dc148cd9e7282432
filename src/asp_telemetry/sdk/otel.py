"""Optional OpenTelemetry spans (GenAI semantic conventions) for tracked agent runs.

On with `asp.configure(otel=True)` when `opentelemetry-api` is installed: each run becomes
an `invoke_agent` span carrying the agent, task and usage attributes, each tool call an
`execute_tool` child span, so the same instrumentation feeds any OpenTelemetry backend and
round-trips through `asp-telemetry load --format otlp`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol


class TracedRun(Protocol):
    """What a span needs of an agent run (sdk.runs.AgentRun is one); otel does not import runs."""

    role: str
    task_id: str | None
    subtask_id: str | None
    project_id: str | None
    iteration: int
    version: str | None
    provider: str | None
    model: str | None
    tokens_in: int
    tokens_out: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float | None


_NO_SPAN = nullcontext()
_enabled = False


def enable(on: bool) -> None:
    global _enabled
    if on:
        try:
            import opentelemetry.trace  # noqa: F401
        except ImportError as exc:
            raise RuntimeError("asp.configure(otel=True) needs the opentelemetry-api package") from exc
    _enabled = on


def enabled() -> bool:
    return _enabled


def _tracer():
    from opentelemetry import trace

    return trace.get_tracer("asp_telemetry")


def start_agent_span(run: TracedRun) -> Any:
    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": run.role,
        "asp.task_id": run.task_id,
        "asp.agent_iteration": run.iteration,
        "gen_ai.agent.version": run.version,
        "asp.subtask_id": run.subtask_id,
        "asp.project_id": run.project_id,
        "gen_ai.provider.name": run.provider,
        "gen_ai.request.model": run.model,
    }
    return _tracer().start_span(
        f"invoke_agent {run.role}", attributes={k: v for k, v in attributes.items() if v is not None}
    )


def current(span: Any) -> AbstractContextManager:
    """Make the agent span current during the call, so model-client instrumentation nests under it."""
    if span is None:
        return _NO_SPAN
    from opentelemetry import trace

    return trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False)


def tool_call(agent_span: Any, name: str | None) -> None:
    from opentelemetry import trace

    attributes = {"gen_ai.operation.name": "execute_tool"}
    if name:
        attributes["gen_ai.tool.name"] = name
    span = _tracer().start_span(
        f"execute_tool {name or ''}".strip(), context=trace.set_span_in_context(agent_span), attributes=attributes
    )
    span.end()


def end_agent_span(span: Any, run: TracedRun, error: BaseException | None) -> None:
    from opentelemetry.trace import Status, StatusCode

    if run.tokens_in or run.tokens_out:
        span.set_attribute("gen_ai.usage.input_tokens", run.tokens_in)
        span.set_attribute("gen_ai.usage.output_tokens", run.tokens_out)
    if run.cache_read_tokens:
        span.set_attribute("gen_ai.usage.cache_read.input_tokens", run.cache_read_tokens)
    if run.cache_write_tokens:
        span.set_attribute("gen_ai.usage.cache_creation.input_tokens", run.cache_write_tokens)
    if run.cost_usd is not None:
        span.set_attribute("gen_ai.usage.cost", run.cost_usd)
    if run.model:
        span.set_attribute("gen_ai.response.model", run.model)
    if error is not None:
        span.set_attribute("error.type", type(error).__name__)
        span.set_status(Status(StatusCode.ERROR, str(error)[:200]))
    span.end()


def span_id(span: Any) -> str:
    return format(span.get_span_context().span_id, "016x")
