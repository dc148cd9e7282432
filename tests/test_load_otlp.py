"""OTLP/JSON produced by the real OpenTelemetry SDK with GenAI attributes, in both id
encodings, mapped to agent executions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from load_support import count, query, rejects
from otlp_support import Recorder, collector_json, protobuf_json

from asp_telemetry import loading


def _pipeline() -> Recorder:
    """A workflow carrying the task, a Code agent (two model calls, a tool that calls a model
    itself, a nested Test agent), framework habits included: run totals on the agent span,
    agent attributes repeated on children."""
    recorder = Recorder()
    with recorder.span("workflow asp", asp__task_id="TASK-42", asp__project_id="ASP-Platform", asp__subtask_id="SU-1"):
        with recorder.agent("Code", gen_ai__agent__version="v1.2.3", asp__agent_iteration=2,
                            gen_ai__provider__name="anthropic",
                            gen_ai__aggregated_usage__input_tokens=9999, gen_ai__aggregated_usage__output_tokens=9999):
            with recorder.chat(
                "claude-sonnet-4-20250514", 5000, 1500, gen_ai__usage__cost=0.03, gen_ai__agent__name="Code"
            ):
                pass
            with recorder.tool("run_tests"):
                with recorder.chat("claude-haiku-4", 240, 320):
                    pass
            with recorder.agent("Test", error="tests failed"):
                with recorder.chat("gpt-4o", 700, 80, gen_ai__usage__cost=0.002):
                    pass
        with recorder.tool("stray_tool_outside_any_agent"):
            pass
    return recorder


def _rows(db):
    return query(db, """
        select agent_role, metric_type, metric_value, task_id, subtask_id, project_id, agent_version,
               agent_iteration, llm_model, llm_provider, metadata->>'execution_id', metadata->>'status'
        from raw.agent_cost_vector order by agent_role, metric_type""")


def test_sdk_spans_in_both_encodings_map_to_the_same_executions(db, tmp_path):
    spans = _pipeline().finished()
    # The Collector's file exporter: hex ids, one request per line, the trace's spans spread
    # over lines (here one span per line, children before parents as the SDK exports them).
    collector = tmp_path / "collector.jsonl"
    collector.write_text("".join(json.dumps(collector_json([span])) + "\n" for span in spans))
    # protobuf JSON: base64 ids, 64-bit integers as strings, enum names; one pretty document.
    document = tmp_path / "request.json"
    document.write_text(json.dumps(protobuf_json(spans), indent=2))
    assert '"traceId": "' in document.read_text() and '"intValue": "5000"' in document.read_text()

    [first] = loading.load_paths(db, [collector])
    [second] = loading.load_paths(db, [document])

    assert (first.format, first.loaded, first.rejected) == ("otlp", 10, 0)
    assert (second.format, second.loaded, second.duplicates, second.rejected) == ("otlp", 0, 10, 0)
    agents = {s.name: s for s in spans}
    code_id = format(agents["invoke_agent Code"].context.span_id, "016x")
    test_id = format(agents["invoke_agent Test"].context.span_id, "016x")
    rows = _rows(db)
    code = [r for r in rows if r[0] == "Code"]
    assert [(r[1], r[2]) for r in code if r[1] != "Latency"] == [
        ("API_Cost", Decimal("0.0300")),
        ("Tokens_In", Decimal("5240.0000")),  # 5000 + the tool's model call, not the run totals
        ("Tokens_Out", Decimal("1820.0000")),
        ("Tool_Calls", Decimal("1.0000")),
    ]
    assert {r[3:] for r in code} == {
        ("TASK-42", "SU-1", "ASP-Platform", "v1.2.3", 2, "claude-sonnet-4-20250514", "anthropic", code_id, None)
    }
    test = {r[1]: r for r in rows if r[0] == "Test"}
    assert test["Tokens_In"][2] == Decimal("700") and test["API_Cost"][2] == Decimal("0.002")
    assert test["Tokens_In"][3:] == (
        "TASK-42",
        "SU-1",
        "ASP-Platform",
        None,
        2,
        "gpt-4o",
        "anthropic",
        test_id,
        "error",
    )
    latency_ms = Decimal(agents["invoke_agent Code"].end_time - agents["invoke_agent Code"].start_time) / 1_000_000
    assert [r[2] for r in code if r[1] == "Latency"] == [latency_ms.quantize(Decimal("1E-12"))]
    trace_id = format(agents["invoke_agent Code"].context.trace_id, "032x")
    started = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=agents["invoke_agent Code"].start_time // 1000)
    assert query(
        db, "select distinct metadata->>'trace_id', timestamp from raw.agent_cost_vector where agent_role = 'Code'"
    ) == [(trace_id, started)]


def test_task_id_falls_back_to_the_conversation_then_the_trace(db, tmp_path):
    recorder = Recorder()
    with recorder.agent(
        "Planning", gen_ai__conversation__id="conv-7", gen_ai__usage__input_tokens=10, gen_ai__usage__output_tokens=4
    ):
        pass
    with recorder.agent("Design"):
        pass
    spans = recorder.finished()
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(collector_json(spans)) + "\n")
    loading.load_paths(db, [path])
    design_trace = format(next(s for s in spans if s.name == "invoke_agent Design").context.trace_id, "032x")
    assert query(
        db,
        "select agent_role, task_id, agent_iteration, metric_type, metric_value from raw.agent_cost_vector"
        " order by 1, 4",
    ) == [
        (
            "Design",
            design_trace,
            1,
            "Latency",
            query(
                db,
                "select metric_value from raw.agent_cost_vector"
                " where agent_role = 'Design' and metric_type = 'Latency'",
            )[0][0],
        ),
        ("Design", design_trace, 1, "Tool_Calls", Decimal("0")),
        (
            "Planning",
            "conv-7",
            1,
            "Latency",
            query(
                db,
                "select metric_value from raw.agent_cost_vector"
                " where agent_role = 'Planning' and metric_type = 'Latency'",
            )[0][0],
        ),
        ("Planning", "conv-7", 1, "Tokens_In", Decimal("10")),  # no model spans: the agent's own usage
        ("Planning", "conv-7", 1, "Tokens_Out", Decimal("4")),
        ("Planning", "conv-7", 1, "Tool_Calls", Decimal("0")),
    ]
    # No cost attribute anywhere: no API_Cost row is invented.
    assert query(db, "select count(*) from raw.agent_cost_vector where metric_type = 'API_Cost'") == [(0,)]


def test_an_unknown_agent_is_rejected_whole_and_broken_lines_are_rejected(db, tmp_path):
    recorder = Recorder()
    with recorder.agent("Researcher"):
        with recorder.chat("m", 1, 1):
            pass
    with recorder.agent("Code"):
        pass
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(collector_json(recorder.finished())) + "\n{\"resourceSpans\": [\n")
    [summary] = loading.load_paths(db, [path], format="otlp")
    assert (summary.loaded, summary.rejected) == (2, 2)
    reasons = [(position.split(",")[0], reason) for position, _, reason, _ in rejects(db)]
    assert reasons[0][0] == "line 1" and "unknown agent role 'Researcher'" in reasons[0][1]
    assert reasons[1][0] == "line 2" and "not valid JSON" in reasons[1][1]
    assert count(db, "agent_cost_vector") == 2


def test_spans_outside_any_agent_make_no_rows(db, tmp_path):
    recorder = Recorder()
    with recorder.span("workflow", asp__task_id="T"):
        with recorder.tool("lonely"):
            with recorder.chat("m", 100, 100):
                pass
    path = tmp_path / "none.jsonl"
    path.write_text(json.dumps(collector_json(recorder.finished())) + "\n")
    [summary] = loading.load_paths(db, [path])
    assert (summary.format, summary.loaded, summary.rejected) == ("otlp", 0, 0)


def test_an_agent_span_repeated_inside_itself_is_one_execution(db, tmp_path):
    recorder = Recorder()
    with recorder.agent(
        "Code", asp__task_id="T-7", gen_ai__usage__input_tokens=300
    ):  # the framework's span, with totals
        with recorder.agent("Code"):  # the SDK's span of the same agent
            with recorder.chat("m", 100, 10):
                pass
            with recorder.chat("m", 200, 20):
                pass
    path = tmp_path / "repeat.jsonl"
    path.write_text(json.dumps(collector_json(recorder.finished())) + "\n")
    loading.load_paths(db, [path])
    assert query(
        db, "select metric_type, metric_value from raw.agent_cost_vector where metric_type like 'Tokens%%' order by 1"
    ) == [
        ("Tokens_In", Decimal("300")),
        ("Tokens_Out", Decimal("30")),
    ]
    assert query(db, "select count(distinct metadata->>'execution_id') from raw.agent_cost_vector") == [(1,)]
