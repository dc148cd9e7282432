"""`asp-telemetry collect`: the real OTLP/HTTP exporters against a running collector."""

from __future__ import annotations

import gzip

import httpx
import orjson
import pytest
from collector_support import cost_rows, running_collector, wait_for
from load_support import query, rejects
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export import SpanExportResult
from otlp_support import Recorder, collector_json, request, span


def _workflow(task: str = "TASK-7") -> Recorder:
    recorder = Recorder()
    with recorder.span("workflow", asp__task_id=task):
        with recorder.agent("Code"):
            with recorder.chat("claude-sonnet-4", 1000, 200, gen_ai__usage__cost=0.01):
                pass
            with recorder.tool("pytest"):
                pass
    return recorder


def _exporter(url: str, compression: Compression = Compression.NoCompression, **headers: str) -> OTLPSpanExporter:
    return OTLPSpanExporter(endpoint=f"{url}/v1/traces", compression=compression, headers=headers, timeout=30)


def _expected(task: str) -> set[tuple]:
    return {(task, "Code", "API_Cost"), (task, "Code", "Latency"), (task, "Code", "Tokens_In"),
            (task, "Code", "Tokens_Out"), (task, "Code", "Tool_Calls")}


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_protobuf_exporter_s_spans_become_cost_rows(db, tmp_path, compression):
    spans = _workflow().finished()
    with running_collector(db, tmp_path / "spool") as (_, url):
        assert _exporter(url, compression).export(spans) == SpanExportResult.SUCCESS
        rows = wait_for(lambda: cost_rows(db) if len(cost_rows(db)) == 5 else None, "five cost rows")
        assert {row[:3] for row in rows} == _expected("TASK-7")
        values = {row[2]: row[3] for row in rows}
        assert values["Tokens_In"] == 1000 and values["Tokens_Out"] == 200 and values["Tool_Calls"] == 1
        [(source, token, status)] = query(db, "select source, ingest_token, status from raw.loads")
        assert (source, token, status) == ("otlp-http (anonymous)", None, "complete")
        wait_for(lambda: not list((tmp_path / "spool").glob("*.spool")), "the loaded spool segment is deleted")


@pytest.mark.parametrize("gzipped", [False, True])
def test_otlp_json_with_the_json_response(db, tmp_path, gzipped):
    body = orjson.dumps(collector_json(_workflow("TASK-J").finished()))
    headers = {"Content-Type": "application/json"}
    if gzipped:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    with running_collector(db, tmp_path / "spool") as (_, url):
        reply = httpx.post(f"{url}/v1/traces", content=body, headers=headers)
        assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
        assert reply.json() == {}
        rows = wait_for(lambda: cost_rows(db) if len(cost_rows(db)) == 5 else None, "five cost rows")
        assert {row[:3] for row in rows} == _expected("TASK-J")


def test_a_bad_span_is_a_partial_success_and_a_reject(db, tmp_path):
    good = span(1, 1, operation="invoke_agent", gen_ai__agent__name="Code")
    bad = {**span(1, 2, parent=1), "spanId": "not an id"}
    body = request([good, bad])
    with running_collector(db, tmp_path / "spool") as (_, url):
        reply = httpx.post(f"{url}/v1/traces", content=orjson.dumps(body),
                           headers={"Content-Type": "application/json"})
        assert reply.status_code == 200
        partial = reply.json()["partialSuccess"]
        assert partial["rejectedSpans"] == "1" and "raw.rejected_records" in partial["errorMessage"]
        wait_for(lambda: rejects(db), "the bad span is in raw.rejected_records")
        wait_for(lambda: cost_rows(db), "the good agent span is loaded")
        [(position, reason)] = query(db, "select position, reason from raw.rejected_records")
        assert position.startswith("request ") and "spanId" in reason


def test_protobuf_partial_success_and_status_codes(db, tmp_path):
    with running_collector(db, tmp_path / "spool", max_body_bytes=4096) as (_, url):
        post = f"{url}/v1/traces"
        assert httpx.post(post, content=b"\xff\x00garbage", headers={"Content-Type": "application/x-protobuf"}
                          ).status_code == 400
        assert httpx.post(post, content=b"{", headers={"Content-Type": "application/json"}).status_code == 400
        assert httpx.post(post, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
        big = orjson.dumps(request([span(9, n, operation="chat") for n in range(1, 200)]))
        assert len(big) > 4096
        reply = httpx.post(post, content=big, headers={"Content-Type": "application/json"})
        assert reply.status_code == 413 and "4096" in reply.json()["message"]
        bomb = gzip.compress(b" " * 100_000)  # small on the wire, over the limit inflated
        assert httpx.post(post, content=bomb, headers={"Content-Type": "application/json",
                                                        "Content-Encoding": "gzip"}).status_code == 413
        empty = httpx.post(post, content=b"", headers={"Content-Type": "application/x-protobuf"})
        assert empty.status_code == 200
        ExportTraceServiceResponse().ParseFromString(empty.content)
        metrics = httpx.get(f"{url}/metrics").text
        assert 'asp_collector_requests_total{code="413"} 2' in metrics
        assert 'asp_collector_requests_total{code="400"} 2' in metrics


def test_over_the_backlog_bound_503_with_retry_after(db, tmp_path):
    body = orjson.dumps(request([span(3, 1, operation="invoke_agent", gen_ai__agent__name="Code")]))
    headers = {"Content-Type": "application/json"}
    # The trace is held for an hour (--settle), so the backlog stays.
    with running_collector(db, tmp_path / "spool", max_backlog_bytes=1, settle_s=3600, hold_s=3600) as (_, url):
        assert httpx.post(f"{url}/v1/traces", content=body, headers=headers).status_code == 200
        refused = httpx.post(f"{url}/v1/traces", content=body, headers=headers)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "2"
        health = httpx.get(f"{url}/health")
        assert health.status_code == 503 and "backlog" in health.json()["problems"][0]
        assert "asp_collector_traces_held 1" in httpx.get(f"{url}/metrics").text
