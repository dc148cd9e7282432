"""Cache tokens (Tokens_Cache_Read, Tokens_Cache_Write) from every source, counted once: they
are part of Tokens_In, as the OpenTelemetry GenAI conventions count input tokens."""

from __future__ import annotations

import json
from pathlib import Path

from load_support import cost, jsonl, query
from otlp_support import Recorder, collector_json, request, span

import asp_telemetry as asp
from asp_telemetry import loading


def _metrics(info, task_id: str) -> dict[str, int]:
    rows = query(info, "select metric_type, metric_value, metric_unit from raw.agent_cost_vector"
                       " where task_id = %s and metric_type like 'Tokens%%'", task_id)
    assert {unit for _, _, unit in rows} <= {"tokens"}
    return {metric: int(value) for metric, value, _ in rows}


def test_native_records_carry_cache_tokens(db, tmp_path):
    lines = [cost("Tokens_In", 12_000, metric_unit="tokens"), cost("Tokens_Cache_Read", 5_000, metric_unit="tokens"),
             cost("Tokens_Cache_Write", 2_000, metric_unit="tokens")]
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "n.jsonl", lines)])
    assert (summary.loaded, summary.rejected) == (3, 0)
    assert _metrics(db, "T-1") == {"Tokens_In": 12_000, "Tokens_Cache_Read": 5_000, "Tokens_Cache_Write": 2_000}


def test_otlp_spans_current_and_deprecated_cache_attributes(db, tmp_path):
    recorder = Recorder()
    with recorder.agent("Code", asp__task_id="T-otlp"):
        with recorder.chat("claude-sonnet-4-5", 3_000, 200, gen_ai__usage__cache_read__input_tokens=1_000,
                           gen_ai__usage__cache_creation__input_tokens=500):
            pass
        with recorder.chat("claude-sonnet-4-5", 2_000, 100, gen_ai__usage__cache_read_input_tokens=700):
            pass
    path = tmp_path / "spans.json"
    path.write_text(json.dumps(collector_json(recorder.finished())))
    [summary] = loading.load_paths(db, [path])
    assert summary.rejected == 0
    assert _metrics(db, "T-otlp") == {"Tokens_In": 5_000, "Tokens_Out": 300, "Tokens_Cache_Read": 1_700,
                                      "Tokens_Cache_Write": 500}


def test_an_otlp_agent_span_reporting_its_own_cache_tokens(db, tmp_path):
    spans = [span(1, 1, operation="invoke_agent", gen_ai__agent__name="Test", asp__task_id="T-agent",
                  gen_ai__usage__input_tokens=900, gen_ai__usage__output_tokens=90,
                  gen_ai__usage__cache_read__input_tokens=400)]
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(request(spans)))
    loading.load_paths(db, [path])
    assert _metrics(db, "T-agent") == {"Tokens_In": 900, "Tokens_Out": 90, "Tokens_Cache_Read": 400}


def test_langfuse_cache_keys_add_to_the_uncached_input(db, tmp_path):
    """Langfuse totals a generation as the sum of its usage keys: `input` is the uncached part."""
    def observation(id, type, start, parent=None, **fields):
        return {"id": id, "traceId": "tr-1", "type": type, "name": "Code" if type == "AGENT" else "llm",
                "startTime": start, "endTime": start, "parentObservationId": parent, "metadata": {},
                "level": "DEFAULT", **fields}

    data = [
        observation("agent", "AGENT", "2026-01-05T10:00:00Z", metadata={"task_id": "T-lf"}),
        observation("g1", "GENERATION", "2026-01-05T10:00:01Z", "agent", model="claude-sonnet-4-5",
                    usageDetails={"input": 300, "output": 50, "cache_read_input_tokens": 1_000,
                                  "cache_creation_input_tokens": 200}),
        observation("g2", "GENERATION", "2026-01-05T10:00:02Z", "agent", model="gpt-4.1",
                    usageDetails={"input": 100, "output": 10, "input_cached_tokens": 400}),
    ]
    path = tmp_path / "observations.json"
    path.write_text(json.dumps({"data": data, "meta": {"page": 1, "limit": 50, "totalItems": 3, "totalPages": 1}}))
    [summary] = loading.load_paths(db, [path], format="langfuse")
    assert summary.rejected == 0, summary
    assert _metrics(db, "T-lf") == {"Tokens_In": 2_000, "Tokens_Out": 60, "Tokens_Cache_Read": 1_400,
                                    "Tokens_Cache_Write": 200}


def _spooled(spool: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(spool.glob("*.jsonl")) for line in path.read_text().splitlines()]


def test_sdk_record_usage_with_cache_tokens(tmp_path):
    asp.configure(sink="jsonl", spool_dir=tmp_path / "inbox", flush_interval_s=0.05, otel=False)

    @asp.track_agent(role="Code", model="claude-sonnet-4-5", provider="anthropic")
    def work(task_id):
        asp.record_usage(tokens_in=3_000, tokens_out=200, cache_read_tokens=1_000, cache_write_tokens=500)
        asp.record_usage(tokens_in=2_000, tokens_out=100, cache_read_tokens=700)
        asp.record_usage(tokens_in=10, tokens_out=1, cache_read_tokens=11)  # more cache than input: ignored
        asp.record_usage(tokens_in=1, cost_usd=0.00001234)

    work("T-sdk")
    assert asp.flush(120)
    metrics = {r["metric_type"]: r["metric_value"] for r in _spooled(tmp_path / "inbox")}
    assert metrics["Tokens_In"] == 5_001 and metrics["Tokens_Out"] == 300
    assert (metrics["Tokens_Cache_Read"], metrics["Tokens_Cache_Write"]) == (1_700, 500)
    assert metrics["API_Cost"] == 0.00001234  # not rounded to 4 places
    assert asp.stats().errors >= 1
