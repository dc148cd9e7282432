"""Langfuse public-API pages and exports (JSON, JSON Lines, CSV; camelCase API names and the
blob-storage export's snake_case names) mapped to executions and defects."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal

from load_support import count, query, rejects

from asp_telemetry import loading

TRACE_ID = "7f3c1a2b-trace"
META = {"page": 1, "limit": 50, "totalItems": 0, "totalPages": 1}


def observation(id: str, type: str, name: str, start: str, end: str | None = None, parent: str | None = None, **fields):
    return {
        "id": id, "traceId": TRACE_ID, "type": type, "name": name, "startTime": start, "endTime": end,
        "completionStartTime": None, "model": None, "modelParameters": {}, "input": None, "output": None,
        "version": None, "metadata": {}, "usage": {"input": 0, "output": 0, "total": 0, "unit": "TOKENS"},
        "level": "DEFAULT", "statusMessage": None, "parentObservationId": parent, "promptId": None,
        "usageDetails": {}, "costDetails": {}, "environment": "default", **fields,
    }


def generation(id: str, parent: str, start: str, model: str, tokens_in: int, tokens_out: int, cost: float):
    return observation(
        id, "GENERATION", "llm-call", start, start, parent, model=model,
        usageDetails={"input": tokens_in, "output": tokens_out, "total": tokens_in + tokens_out},
        costDetails={"input": cost / 2, "output": cost / 2, "total": cost},
    )


def observations() -> list[dict]:
    return [
        observation("obs-code", "AGENT", "Code", "2026-01-05T10:00:00.000Z", "2026-01-05T10:00:03.850Z",
                    metadata={"agent_version": "v1.2.3", "agent_role": "Code"}),
        generation("gen-1", "obs-code", "2026-01-05T10:00:00.100Z", "claude-sonnet-4", 5000, 1500, 0.03),
        observation("tool-1", "TOOL", "run_tests", "2026-01-05T10:00:01Z", "2026-01-05T10:00:02Z", "obs-code"),
        generation("gen-2", "tool-1", "2026-01-05T10:00:01.500Z", "claude-haiku-4", 240, 320, 0.0082),
        # The specification's own mapping: a span named after its role, numbers in its metadata.
        observation("obs-design", "SPAN", "Design", "2026-01-05T09:00:00Z", "2026-01-05T09:00:02Z",
                    metadata={"latency_ms": 2150.5, "tokens_in": 5240, "tokens_out": 1820, "api_cost_usd": 0.0382,
                              "llm_model": "claude-sonnet-4", "agent_version": "v1.0", "task_id": "TASK-OWN"}),
        observation("obs-retrieval", "SPAN", "retrieval", "2026-01-05T09:30:00Z", "2026-01-05T09:30:01Z"),
        # A defect found by code review, and one that lacks its removal phase.
        observation("obs-review", "EVENT", "defect", "2026-01-05T11:00:00Z", metadata={
            "defect_id": "D-001", "defect_type": "5_Security_Vulnerability", "phase_injected": "Code",
            "phase_removed": "CodeReview", "description": "SQL built by string concatenation",
            "component_path": "src/auth/login.py", "flagged_by_agent": True, "severity": "Critical"}),
        observation("obs-review-2", "EVENT", "defect", "2026-01-05T11:05:00Z", metadata={
            "defect_id": "D-002", "defect_type": "4_Hallucination", "phase_injected": "Code"}),
    ]


def traces_page() -> dict:
    return {"data": [{"id": TRACE_ID, "timestamp": "2026-01-05T09:00:00Z", "name": "ASP Task Execution",
                      "metadata": {"task_id": "TASK-001", "project_id": "ASP-Platform"}, "tags": [],
                      "observations": ["obs-code"], "scores": [], "latency": 3.85, "totalCost": 0.07}],
            "meta": {**META, "totalItems": 1}}


def _load_api_pages(db, tmp_path):
    traces = tmp_path / "traces.json"
    traces.write_text(json.dumps(traces_page()))
    page = tmp_path / "observations.json"
    page.write_text(json.dumps({"data": observations(), "meta": {**META, "totalItems": 8}}))
    return loading.load_paths(db, [traces, page])


def test_api_pages_map_agents_generations_tools_and_defects(db, tmp_path):
    traces_summary, summary = _load_api_pages(db, tmp_path)
    assert (traces_summary.format, traces_summary.loaded) == ("langfuse", 0)
    assert (summary.format, summary.loaded, summary.rejected) == ("langfuse", 11, 1)
    rows = query(db, """
        select agent_role, metric_type, metric_value, task_id, project_id, agent_version, llm_model,
               metadata->>'execution_id', timestamp::text
        from raw.agent_cost_vector order by agent_role, metric_type""")
    code = {r[1]: r for r in rows if r[0] == "Code"}
    assert {k: v[2] for k, v in code.items()} == {
        "Latency": Decimal("3850.0000"),
        "Tokens_In": Decimal("5240.0000"),
        "Tokens_Out": Decimal("1820.0000"),
        "API_Cost": Decimal("0.0382"),
        "Tool_Calls": Decimal("1.0000"),
    }
    assert code["Latency"][3:] == (
        "TASK-001",
        "ASP-Platform",
        "v1.2.3",
        "claude-sonnet-4",
        "obs-code",
        "2026-01-05 10:00:00+00",
    )
    design = {r[1]: r for r in rows if r[0] == "Design"}
    assert {k: v[2] for k, v in design.items()} == {
        "Latency": Decimal("2150.5000"), "Tokens_In": Decimal("5240.0000"), "Tokens_Out": Decimal("1820.0000"),
        "API_Cost": Decimal("0.0382"), "Tool_Calls": Decimal("0.0000"),
    }
    assert design["Latency"][3:7] == ("TASK-OWN", "ASP-Platform", "v1.0", "claude-sonnet-4")
    assert query(
        db,
        "select defect_id, task_id, defect_type, phase_injected, phase_removed, component_path, flagged_by_agent,"
        " severity from raw.defect_log",
    ) == [
        ("D-001", "TASK-001", "5_Security_Vulnerability", "Code", "CodeReview", "src/auth/login.py", True, "Critical")
    ]
    [(position, record_type, reason, original)] = rejects(db)
    assert (position, record_type) == ("data[7]", "defect_log")
    assert reason.endswith("missing: phase_removed")
    assert json.loads(original)["id"] == "obs-review-2"


def test_without_the_trace_the_task_is_the_trace_id(db, tmp_path):
    page = tmp_path / "observations.json"
    page.write_text(json.dumps({"data": observations()[:4], "meta": META}))
    loading.load_paths(db, [page])
    assert query(db, "select distinct task_id from raw.agent_cost_vector") == [(TRACE_ID,)]


def _blob_export_row(obs: dict) -> dict:
    """The blob-storage export: snake_case names, times as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC),
    metadata values as text."""
    def stamp(value):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S.%f") if value else None

    return {
        "id": obs["id"],
        "trace_id": obs["traceId"],
        "parent_observation_id": obs["parentObservationId"],
        "type": obs["type"],
        "name": obs["name"],
        "start_time": stamp(obs["startTime"]),
        "end_time": stamp(obs["endTime"]),
        "provided_model_name": obs["model"],
        "level": obs["level"],
        "metadata": {k: v if isinstance(v, str) else json.dumps(v) for k, v in obs["metadata"].items()},
        "usage_details": obs["usageDetails"],
        "cost_details": obs["costDetails"],
    }


def test_exports_in_every_shape_are_the_same_records_as_the_api(db, tmp_path):
    _load_api_pages(db, tmp_path)
    before = (count(db, "agent_cost_vector"), count(db, "defect_log"))

    jsonl = tmp_path / "observations_v2.jsonl"
    jsonl.write_text("".join(json.dumps(_blob_export_row(o)) + "\n" for o in observations()))
    array = tmp_path / "export.json"
    array.write_text(json.dumps(observations()))
    with (tmp_path / "export.csv").open("w", newline="") as handle:
        columns = ["id", "traceId", "parentObservationId", "type", "name", "startTime", "endTime", "model",
                   "level", "metadata", "usageDetails", "costDetails"]
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        for obs in observations():
            writer.writerow({**obs, **{k: json.dumps(obs[k]) for k in ("metadata", "usageDetails", "costDetails")}})

    # The trace's task id applies to the exports too: the traces page came first in this load.
    summaries = loading.load_paths(db, [tmp_path / "traces.json", jsonl, array, tmp_path / "export.csv"])
    for summary in summaries[1:]:
        assert (summary.format, summary.loaded, summary.duplicates, summary.rejected) == ("langfuse", 0, 11, 1), (
            summary,
            rejects(db),
        )
    assert (count(db, "agent_cost_vector"), count(db, "defect_log")) == before


def test_overlapping_export_windows_add_each_execution_once(db, tmp_path):
    everything = observations()[:4]
    first, second = tmp_path / "window-1.jsonl", tmp_path / "window-2.jsonl"
    first.write_text("".join(json.dumps(o) + "\n" for o in everything[:3]))
    second.write_text("".join(json.dumps(o) + "\n" for o in everything))
    loading.load_paths(db, [first])
    [summary] = loading.load_paths(db, [second])
    # The first window lacked the tool's generation; its execution stays as first loaded.
    assert (summary.loaded, summary.duplicates) == (0, 5)
    assert count(db, "agent_cost_vector") == 5
