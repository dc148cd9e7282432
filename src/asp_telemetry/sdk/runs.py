"""Agent runs: what one execution of one agent cost, measured on the caller's thread.

The caller's thread only measures, checks and enqueues; turning a finished run into
native `agent_cost_vector` records happens on the writer thread.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

from asp_telemetry.execution import Execution
from asp_telemetry.sdk import delivery, otel

logger = logging.getLogger("asp_telemetry.sdk")
F = TypeVar("F", bound=Callable[..., Any])

_current_run: ContextVar[AgentRun | None] = ContextVar("asp_current_run", default=None)
_current_task: ContextVar[TaskScope | None] = ContextVar("asp_current_task", default=None)


class TaskScope:
    """`with asp.task(task_id):` a task in progress; counts each role's iterations."""

    __slots__ = ("task_id", "project_id", "subtask_id", "_iterations")

    def __init__(self, task_id: str, project_id: str | None, subtask_id: str | None):
        self.task_id = task_id
        self.project_id = project_id
        self.subtask_id = subtask_id
        self._iterations: dict[str, int] = {}

    def next_iteration(self, role: str) -> int:
        number = self._iterations.get(role, 0) + 1
        self._iterations[role] = number
        return number


@contextmanager
def task(task_id: str, project_id: str | None = None, subtask_id: str | None = None) -> Iterator[TaskScope]:
    """Group the agent runs of one task: a role's second run inside it is iteration 2, and so on."""
    scope = TaskScope(str(task_id), project_id, subtask_id)
    token = _current_task.set(scope)
    try:
        yield scope
    finally:
        _current_task.reset(token)


class AgentRun:
    """One agent execution in progress. Use its methods, or the module functions inside it."""

    __slots__ = (
        "task_id", "subtask_id", "project_id", "role", "iteration", "model", "provider", "version",
        "started_at", "_started", "latency_ms", "tokens_in", "tokens_out", "cache_read_tokens",
        "cache_write_tokens", "cost_usd", "tool_calls",
        "tool_names", "metrics", "error_type", "span", "_token",
    )

    def __init__(self, task_id: str, role: str, iteration: int, model: str | None, provider: str | None,
                 version: str | None, subtask_id: str | None, project_id: str | None):
        self.task_id = task_id
        self.role = role
        self.iteration = iteration
        self.model = model
        self.provider = provider
        self.version = version
        self.subtask_id = subtask_id
        self.project_id = project_id
        self.tokens_in = 0
        self.tokens_out = 0
        self.cache_read_tokens = 0
        self.cache_write_tokens = 0
        self.cost_usd: float | None = None
        self.tool_calls = 0
        self.tool_names: list[str] | None = None
        self.metrics: list[tuple[str, float, str]] | None = None
        self.error_type: str | None = None
        self.latency_ms = 0.0
        self.span = None
        self.started_at = time.time()
        self._started = time.perf_counter()

    def record_usage(self, tokens_in: int = 0, tokens_out: int = 0, cost_usd: float | None = None,
                     model: str | None = None, cache_read_tokens: int = 0, cache_write_tokens: int = 0) -> None:
        """Add one model call's usage (may be called many times: it sums). No cost, no cost row
        (the build prices the tokens). tokens_in counts every input token, the cache reads and
        writes included (as the GenAI conventions and OpenAI count them; for Anthropic's API
        pass input_tokens + cache_read_input_tokens + cache_creation_input_tokens)."""
        if not _non_negative(tokens_in, "tokens_in") or not _non_negative(tokens_out, "tokens_out"):
            return
        if not _non_negative(cache_read_tokens, "cache_read_tokens") or not _non_negative(
                cache_write_tokens, "cache_write_tokens"):
            return
        if cache_read_tokens + cache_write_tokens > tokens_in:
            delivery.count_error(
                f"cache_read_tokens + cache_write_tokens ({cache_read_tokens} + {cache_write_tokens}) exceed "
                f"tokens_in ({tokens_in}), which includes them: ignored")
            return
        if cost_usd is not None and not _non_negative(cost_usd, "cost_usd"):
            return
        self.tokens_in += int(tokens_in)
        self.tokens_out += int(tokens_out)
        self.cache_read_tokens += int(cache_read_tokens)
        self.cache_write_tokens += int(cache_write_tokens)
        if cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + float(cost_usd)
        if model:
            self.model = model

    def record_tool_call(self, name: str | None = None) -> None:
        self.tool_calls += 1
        if name:
            (self.tool_names if self.tool_names is not None else self._new_tool_names()).append(str(name))
        if self.span is not None:
            otel.tool_call(self.span, name)

    def _new_tool_names(self) -> list[str]:
        self.tool_names = []
        return self.tool_names

    def record_metric(self, metric_type: str, value: float, unit: str) -> None:
        """Another metric of this execution, e.g. ("Memory_Usage", 412.0, "MB")."""
        if not metric_type or not unit or not _non_negative(value, metric_type):
            return
        if self.metrics is None:
            self.metrics = []
        self.metrics.append((str(metric_type), float(value), str(unit)))

    def __call__(self) -> list[dict]:
        """The native records of this finished run (called on the writer thread)."""
        metadata: dict[str, Any] = {"source": "asp-telemetry-sdk"}
        if self.error_type:
            metadata["error_type"] = self.error_type
        if self.tool_names:
            metadata["tool_names"] = self.tool_names
        tokens = self.tokens_in or self.tokens_out  # no usage recorded: no token rows
        return Execution(
            task_id=self.task_id,
            agent_role=self.role,
            execution_id=otel.span_id(self.span) if self.span is not None else uuid.uuid4().hex,
            timestamp=datetime.fromtimestamp(self.started_at, UTC).isoformat(),
            subtask_id=self.subtask_id,
            project_id=self.project_id,
            agent_version=self.version,
            agent_iteration=self.iteration,
            llm_model=self.model,
            llm_provider=self.provider,
            metadata=metadata,
            latency_ms=round(self.latency_ms, 4),
            tokens_in=self.tokens_in if tokens else None,
            tokens_out=self.tokens_out if tokens else None,
            cache_read_tokens=self.cache_read_tokens or None,
            cache_write_tokens=self.cache_write_tokens or None,
            # the column keeps 12 places (migration 0008); float sums carry noise beyond them
            cost_usd=None if self.cost_usd is None else round(self.cost_usd, 12),
            tool_calls=self.tool_calls or None,
            other_metrics=self.metrics or [],
        ).cost_rows()


def _non_negative(value: Any, name: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != value:
        delivery.count_error(f"{name} must be a non-negative number, got {value!r}: ignored")
        return False
    return True


def current_run() -> AgentRun | None:
    return _current_run.get()


def _begin(role: str, task_id: Any, iteration: int | None, model: str | None, provider: str | None,
           version: str | None, subtask_id: str | None, project_id: str | None) -> AgentRun:
    scope = _current_task.get()
    if task_id is None and scope is not None:
        task_id = scope.task_id
    if scope is not None:
        subtask_id = subtask_id or scope.subtask_id
        project_id = project_id or scope.project_id
        if iteration is None:
            iteration = scope.next_iteration(role)
    run = AgentRun(
        None if task_id is None else str(task_id), role, iteration or 1, model, provider, version,
        subtask_id, project_id,
    )
    if otel.enabled():
        try:
            run.span = otel.start_agent_span(run)
        except Exception as exc:  # noqa: BLE001 - a tracing problem must not stop the agent
            delivery.count_error(f"could not start an OpenTelemetry span: {exc!r}")
    run._token = _current_run.set(run)
    return run


def _end(run: AgentRun, error: BaseException | None) -> None:
    run.latency_ms = (time.perf_counter() - run._started) * 1000.0
    try:
        _current_run.reset(run._token)
    except ValueError:  # ended in another context (a generator, a callback): nothing to restore
        pass
    try:
        if error is not None:
            run.error_type = type(error).__name__
        if run.span is not None:
            otel.end_agent_span(run.span, run, error)
        if run.task_id is None:
            delivery.count_dropped(
                f"a {run.role} run had no task id: pass the task id parameter or use `with asp.task(...)`"
            )
            return
        delivery.writer().submit(run)
    except Exception as exc:  # noqa: BLE001 - the SDK never raises into the agent
        delivery.count_error(f"could not record a {run.role} run: {exc!r}")


class _Tracked:
    """What every tracked run does around the agent's code: its span is current during the
    call, and the run ends (and is recorded) however the call ends. A class, not
    @contextmanager: it runs on the caller's thread for every call."""

    __slots__ = ("run", "_span")

    def __init__(self, run: AgentRun):
        self.run = run
        self._span = otel.current(run.span)

    def __enter__(self) -> AgentRun:
        self._span.__enter__()
        return self.run

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> bool:
        self._span.__exit__(kind, error, traceback)
        _end(self.run, error)
        return False


def _task_id_getter(fn: Callable, task_id_param: str | None) -> Callable[[tuple, dict], Any]:
    """Compile `task_id_param` ("task_id" or "request.task_id") into a fast argument lookup."""
    if not task_id_param:
        return lambda args, kwargs: None
    name, *attributes = task_id_param.split(".")
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    position = next(
        (i for i, p in enumerate(parameters)
         if p.name == name and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)),
        None,
    )
    default = next((p.default for p in parameters if p.name == name and p.default is not p.empty), None)

    def get(args: tuple, kwargs: dict) -> Any:
        if name in kwargs:
            value = kwargs[name]
        elif position is not None and position < len(args):
            value = args[position]
        else:
            value = default
        for attribute in attributes:
            value = getattr(value, attribute, None) if not isinstance(value, dict) else value.get(attribute)
        return value

    return get


def track_agent(
    role: str,
    model: str | None = None,
    provider: str | None = None,
    version: str | None = None,
    task_id_param: str | None = "task_id",
    iteration: int | None = None,
    subtask_id: str | None = None,
    project_id: str | None = None,
) -> Callable[[F], F]:
    """Record one agent execution per call of the decorated function (sync or async)."""
    if not isinstance(role, str) or not role:
        raise ValueError(f"track_agent needs a role name (an agent_role of the seed), got {role!r}")

    def decorate(fn: F) -> F:
        get_task_id = _task_id_getter(fn, task_id_param)

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with _Tracked(_begin(role, get_task_id(args, kwargs), iteration, model, provider, version,
                                     subtask_id, project_id)):
                    return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _Tracked(_begin(role, get_task_id(args, kwargs), iteration, model, provider, version,
                                 subtask_id, project_id)):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@contextmanager
def agent_run(
    task_id: str | None = None,
    role: str = "",
    iteration: int | None = None,
    model: str | None = None,
    provider: str | None = None,
    version: str | None = None,
    subtask_id: str | None = None,
    project_id: str | None = None,
) -> Iterator[AgentRun]:
    """`with asp.agent_run(task_id=..., role=...) as run:` one execution without a decorator."""
    if not role:
        raise ValueError("agent_run needs role=...")
    with _Tracked(_begin(role, task_id, iteration, model, provider, version, subtask_id, project_id)) as run:
        yield run


def record_usage(tokens_in: int = 0, tokens_out: int = 0, cost_usd: float | None = None,
                 model: str | None = None, cache_read_tokens: int = 0, cache_write_tokens: int = 0) -> None:
    run = _current_run.get()
    if run is None:
        delivery.count_error("record_usage outside a tracked agent run: ignored")
        return
    run.record_usage(tokens_in, tokens_out, cost_usd, model, cache_read_tokens, cache_write_tokens)


def record_tool_call(name: str | None = None) -> None:
    run = _current_run.get()
    if run is None:
        delivery.count_error("record_tool_call outside a tracked agent run: ignored")
        return
    run.record_tool_call(name)


def record_metric(metric_type: str, value: float, unit: str) -> None:
    run = _current_run.get()
    if run is None:
        delivery.count_error("record_metric outside a tracked agent run: ignored")
        return
    run.record_metric(metric_type, value, unit)
