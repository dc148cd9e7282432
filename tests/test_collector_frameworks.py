"""Agent frameworks run offline, exporting to a running collector with the standard
exporter: Pydantic AI (GenAI conventions, its TestModel) and the OpenAI Agents SDK through
the OpenInference instrumentor (a local stub of the Chat Completions API as its model)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from collector_support import cost_rows, running_collector, wait_for
from load_support import query
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from otlp_support import request, span

from asp_telemetry import loading


def _provider(url: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "agents-under-test"}))
    provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=f"{url}/v1/traces", compression=Compression.Gzip)))
    return provider


def _values(db) -> dict[tuple[str, str], object]:
    return {(row[1], row[2]): row[3] for row in cost_rows(db)}


def test_pydantic_ai_with_its_test_model(db, tmp_path):
    from pydantic_ai import Agent
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.test import TestModel

    with running_collector(db, tmp_path / "spool") as (_, url):
        provider = _provider(url)
        agent = Agent(TestModel(), name="Code")
        agent.instrument = InstrumentationSettings(tracer_provider=provider)

        @agent.tool_plain
        def run_tests() -> str:
            return "2 passed"

        agent.run_sync("implement the task")
        assert provider.force_flush()
        wait_for(lambda: len(cost_rows(db)) == 4, "the Code execution's four cost rows")
        values = _values(db)
    # Its two model calls' tokens (TestModel counts them), its tool call, its latency.
    assert values[("Code", "Tool_Calls")] == 1
    assert values[("Code", "Tokens_In")] > 0 and values[("Code", "Tokens_Out")] > 0
    [(model, provider_name, service)] = query(
        db, "select distinct llm_model, llm_provider, metadata->>'service_name' from raw.agent_cost_vector")
    assert (model, provider_name, service) == ("test", "test", "agents-under-test")
    provider.shutdown()


class _ChatCompletions(http.server.BaseHTTPRequestHandler):
    """A local stand-in for the Chat Completions API: a tool call first, then an answer."""

    calls = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls += 1
        if type(self).calls == 1:
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "run_tests", "arguments": "{}"}}]}
            finish = "tool_calls"
        else:
            message, finish = {"role": "assistant", "content": "designed"}, "stop"
        data = json.dumps({
            "id": f"chatcmpl-{type(self).calls}", "object": "chat.completion", "created": 1, "model": "gpt-4o-stub",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def _model_stub() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Stub", (_ChatCompletions,), {"calls": 0}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_openai_agents_through_the_openinference_instrumentor(db, tmp_path):
    from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool
    from openai import AsyncOpenAI
    from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

    @function_tool
    def run_tests() -> str:
        """Run the tests."""
        return "2 passed"

    with running_collector(db, tmp_path / "spool") as (_, url), _model_stub() as model_url:
        provider = _provider(url)
        instrumentor = OpenAIAgentsInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        try:
            client = AsyncOpenAI(base_url=model_url, api_key="offline", max_retries=0)
            agent = Agent(name="Design", instructions="Design the change.", tools=[run_tests],
                          model=OpenAIChatCompletionsModel(model="gpt-4o-stub", openai_client=client))
            assert Runner.run_sync(agent, "design it").final_output == "designed"
            assert provider.force_flush()
        finally:
            instrumentor.uninstrument()
        wait_for(lambda: len(cost_rows(db)) == 4, "the Design execution's four cost rows")
        values = _values(db)
    # The OpenInference AGENT span named Design; its two LLM spans and one TOOL span below.
    assert values[("Design", "Tokens_In")] == 200 and values[("Design", "Tokens_Out")] == 40
    assert values[("Design", "Tool_Calls")] == 1
    assert query(db, "select distinct llm_model, llm_provider from raw.agent_cost_vector") == [
        ("gpt-4o-stub", "openai")]
    # The SDK's "Agent workflow" root (an AGENT span naming no agent) is not an execution.
    assert query(db, "select count(*) from raw.rejected_records") == [(0,)]
    provider.shutdown()


def test_openinference_attributes_map_like_their_genai_counterparts(db, tmp_path):
    """The mapping table of docs/collector.md, both conventions side by side."""
    def trace(number: int, convention: str) -> list[dict]:
        if convention == "genai":
            return [
                span(number, 1, asp__task_id=f"TASK-{number}"),
                span(number, 2, parent=1, operation="invoke_agent", gen_ai__agent__name="Test",
                     gen_ai__conversation__id="S-1"),
                span(number, 3, parent=2, operation="chat", gen_ai__response__model="claude-x",
                     gen_ai__provider__name="anthropic", gen_ai__usage__input_tokens=900,
                     gen_ai__usage__output_tokens=90, gen_ai__usage__cost=0.25),
                span(number, 4, parent=2, operation="execute_tool"),
            ]
        return [
            span(number, 1, asp__task_id=f"TASK-{number}", openinference__span__kind="CHAIN"),
            span(number, 2, parent=1, openinference__span__kind="AGENT", agent__name="Test", session__id="S-1"),
            span(number, 3, parent=2, openinference__span__kind="LLM", llm__model_name="claude-x",
                 llm__provider="anthropic", llm__token_count__prompt=900, llm__token_count__completion=90,
                 llm__cost__total=0.25),
            span(number, 4, parent=2, openinference__span__kind="TOOL"),
        ]

    path = tmp_path / "both.jsonl"
    path.write_text(json.dumps(request(trace(1, "genai"))) + "\n" + json.dumps(request(trace(2, "oi"))) + "\n")
    [summary] = loading.load_paths(db, [path])
    assert summary.rejected == 0
    rows = query(db, """select task_id, metric_type, metric_value, llm_model, llm_provider from raw.agent_cost_vector
                        where metric_type <> 'Latency' order by metric_type, task_id""")
    by_task: dict[str, list] = {}
    for task, *rest in rows:
        by_task.setdefault(task, []).append(tuple(rest))
    assert by_task["TASK-1"] == by_task["TASK-2"]
    assert ("Tokens_In", 900, "claude-x", "anthropic") in by_task["TASK-2"]
    assert ("Tool_Calls", 1, "claude-x", "anthropic") in by_task["TASK-2"]
