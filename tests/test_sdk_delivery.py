"""SDK records reaching the raw tables: through the inbox and the ingest flow, straight into
PostgreSQL (and through an outage), and as OpenTelemetry spans through the OTLP loader."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

import asp_telemetry as asp
from asp_telemetry import connection, embedded, loading, migrations
from asp_telemetry.connection import ConnectionInfo


def _count(info: ConnectionInfo, sql: str) -> int:
    with connection.connect(info) as conn:
        return conn.execute(sql).fetchone()[0]


def test_every_record_of_10000_decorated_calls_reaches_raw_through_the_pipeline(
        db, prefect_server, use_database, tmp_path, monkeypatch):
    from asp_telemetry.flows.ingest import ingest

    inbox = tmp_path / "inbox"
    monkeypatch.setenv("ASP_INBOX", str(inbox))  # the ingest flow reads the configured inbox only
    asp.configure(sink="jsonl", spool_dir=inbox, batch_size=2000, flush_interval_s=0.2)

    @asp.track_agent(role="Code", model="claude-sonnet-4", provider="anthropic")
    def write_code(task_id: str, n: int) -> int:
        asp.record_usage(tokens_in=100 + n, tokens_out=10, cost_usd=0.001)
        return n

    for n in range(10_000):
        write_code(f"T-{n % 250}", n)
    assert asp.flush(60)
    assert asp.stats().dropped == 0
    use_database(db)
    result = ingest(str(inbox))
    assert result.rejected == 0 and result.loaded == 40_000
    assert _count(db, "select count(*) from raw.agent_cost_vector") == 40_000
    assert _count(db, "select count(distinct metadata->>'execution_id') from raw.agent_cost_vector") == 10_000
    assert _count(db, "select sum(metric_value) from raw.agent_cost_vector where metric_type = 'Tokens_In'") == \
        sum(100 + n for n in range(10_000))


def test_the_postgres_sink_copies_straight_into_raw(db):
    asp.configure(sink="postgres", database_url=_url(db), spool_dir=Path("/nonexistent-spool"))

    @asp.track_agent(role="Test")
    def run_tests(task_id):
        asp.record_tool_call("pytest")

    for i in range(300):
        run_tests(f"T-{i}")
    asp.record_task("T-1", status="completed", actual_complexity=3)
    assert asp.flush(120)
    assert asp.stats().spooled == 0 and asp.stats().dropped == 0
    assert _count(db, "select count(*) from raw.agent_cost_vector where metric_type = 'Latency'") == 300
    assert _count(db, "select count(*) from raw.task_metadata where status = 'completed'") == 1


def _url(info: ConnectionInfo) -> str:
    host = info.host
    user = info.user + (f":{quote(info.password.get_secret_value(), safe='')}" if info.password else "")
    return f"postgresql://{user}@/{info.dbname}?host={host}&port={info.port}" if host.startswith("/") else \
        f"postgresql://{user}@{host}:{info.port}/{info.dbname}"


@pytest.fixture
def own_server(server_home, monkeypatch):
    """An embedded server of this test's own, which it may stop and start."""
    monkeypatch.setenv("ASP_HOME", str(server_home))
    server = embedded.start()
    admin = ConnectionInfo(host=server.host, port=server.port, user="postgres", dbname="postgres", source="test")
    connection.ensure_database(admin, "outage")
    info = admin.with_database("outage")
    migrations.upgrade(info)
    yield info
    embedded.stop()


def test_a_database_outage_loses_nothing(own_server, tmp_path):
    from asp_telemetry import inbox

    spool = tmp_path / "spool"
    asp.configure(sink="postgres", database_url=_url(own_server), spool_dir=spool, flush_interval_s=0.1)

    @asp.track_agent(role="Design")
    def design(task_id):
        asp.record_usage(tokens_in=5, tokens_out=5)

    for i in range(100):
        design(f"before-{i}")
    assert asp.flush(120)
    embedded.stop()  # the database goes down mid-run
    for i in range(100):
        design(f"during-{i}")
    assert asp.flush(60)
    assert asp.stats().spooled == 300 and asp.stats().dropped == 0
    assert list(spool.glob("*.jsonl"))
    embedded.start()  # it comes back; the ingest flow's loader delivers the spool
    result = inbox.ingest(own_server, spool)
    assert result.loaded == 300
    assert _count(own_server, "select count(distinct task_id) from raw.agent_cost_vector") == 200
    assert _count(own_server, "select count(*) from raw.agent_cost_vector") == 600


def test_otel_spans_round_trip_through_the_otlp_loader(db, tmp_path):
    import json

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from otlp_support import collector_json

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        pytest.skip("another test set the global tracer provider first")
    spool = tmp_path / "spool"
    asp.configure(sink="jsonl", spool_dir=spool, otel=True)

    @asp.track_agent(role="CodeReview", model="gpt-4.1", provider="openai", version="v3")
    def review(task_id):
        asp.record_usage(tokens_in=700, tokens_out=90, cost_usd=0.0021)
        asp.record_tool_call("ruff")
        asp.record_tool_call("mypy")

    with asp.task("T-otel", project_id="P-9"):
        review("T-otel")
        review("T-otel")
    assert asp.flush(120)
    asp.configure(otel=False)
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["execute_tool mypy", "execute_tool mypy", "execute_tool ruff",
                                              "execute_tool ruff", "invoke_agent CodeReview", "invoke_agent CodeReview"]
    otlp_file = tmp_path / "spans.json"
    otlp_file.write_text(json.dumps(collector_json(list(spans))))

    [from_otlp] = loading.load_paths(db, [otlp_file], format="otlp")
    assert from_otlp.rejected == 0 and from_otlp.loaded > 0
    with connection.connect(db) as conn:
        rows = conn.execute("""
            select task_id, project_id, agent_role, agent_version, agent_iteration, metric_type, metric_value,
                   llm_model, metadata->>'execution_id'
            from raw.agent_cost_vector where metric_type <> 'Latency' order by agent_iteration, metric_type"""
        ).fetchall()
    assert [(r[2], r[4], r[5], float(r[6])) for r in rows] == [
        ("CodeReview", 1, "API_Cost", 0.0021), ("CodeReview", 1, "Tokens_In", 700.0),
        ("CodeReview", 1, "Tokens_Out", 90.0), ("CodeReview", 1, "Tool_Calls", 2.0),
        ("CodeReview", 2, "API_Cost", 0.0021), ("CodeReview", 2, "Tokens_In", 700.0),
        ("CodeReview", 2, "Tokens_Out", 90.0), ("CodeReview", 2, "Tool_Calls", 2.0),
    ]
    assert {(r[0], r[1], r[3], r[7]) for r in rows} == {("T-otel", "P-9", "v3", "gpt-4.1")}
    # The SDK's own records of the same runs carry the span ids: loading them adds nothing new.
    [from_native] = loading.load_paths(db, sorted(spool.glob("*.jsonl")))
    assert from_native.loaded == 0 and from_native.rejected == 0
