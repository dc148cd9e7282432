"""What a 200 promises: kill -9 after acknowledgement, a retry after a lost response, spans of
one trace over many requests in reverse order; and the ingest tokens."""

from __future__ import annotations

import http.server
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import orjson
import pytest
from collector_support import collect_process, cost_rows, running_collector, wait_for
from load_support import query, rejects
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from otlp_support import Recorder, collector_json, request, span
from support import cli_environment, run_cli

from asp_telemetry.collector import tokens
from asp_telemetry.errors import InvalidInput


def _workflow(task: str) -> list:
    recorder = Recorder()
    with recorder.span("workflow", asp__task_id=task):
        with recorder.agent("Code"):
            with recorder.chat("claude-sonnet-4", 1000, 200):
                pass
        with recorder.agent("Test"):
            with recorder.chat("gpt-4o", 300, 30):
                pass
    return recorder.finished()


def _rows_of(db, count: int):
    return wait_for(lambda: cost_rows(db) if len(cost_rows(db)) >= count else None, f"{count} cost rows")


def test_kill_9_after_the_200_loses_nothing_and_a_restart_loads_it(db, tmp_path):
    spool = tmp_path / "spool"
    token = tokens.create(db, "ci-agents")
    spans = _workflow("TASK-K")
    # Held for an hour: acknowledged, on disk, not loaded when the collector dies.
    with collect_process(db, spool, "--settle", "3600", "--hold", "3600") as (process, url):
        exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers={"Authorization": f"Bearer {token}"})
        assert exporter.export(spans) == SpanExportResult.SUCCESS
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    assert cost_rows(db) == []
    assert list(spool.glob("*.spool"))
    with collect_process(db, spool) as (_, url):
        rows = _rows_of(db, 8)
        assert {(row[0], row[1]) for row in rows} == {("TASK-K", "Code"), ("TASK-K", "Test")}
        wait_for(lambda: not list(spool.glob("*.spool")), "the spool is empty once loaded")
    with collect_process(db, spool) as (_, url):
        # The same request again, into a collector that has not seen it (an exporter retrying
        # after a restart): mapped again, and the loader's identities add nothing.
        exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers={"Authorization": f"Bearer {token}"})
        assert exporter.export(spans) == SpanExportResult.SUCCESS
        wait_for(lambda: query(db, "select 1 from raw.loads where duplicates = 8"), "a load of 8 duplicates")
    assert len(cost_rows(db)) == 8
    assert {row for row in query(db, "select ingest_token from raw.loads")} == {("ci-agents",)}


class _LosingProxy(http.server.BaseHTTPRequestHandler):
    """Forwards requests to the collector; drops the connection instead of the first response
    once the collector has loaded it (the exporter then retries)."""

    target = ""
    lost = 0
    loaded = staticmethod(lambda: True)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        reply = httpx.post(f"{self.target}{self.path}", content=body, headers=headers, timeout=30)
        if type(self).lost == 0:
            type(self).lost += 1
            wait_for(type(self).loaded, "the collector loads the first request")
            self.close_connection = True
            self.connection.shutdown(2)  # the response is lost
            return
        self.send_response(reply.status_code)
        self.send_header("Content-Type", reply.headers["content-type"])
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def _proxy(target: str, loaded) -> Iterator[str]:
    handler = type("Proxy", (_LosingProxy,), {"target": target, "lost": 0, "loaded": staticmethod(loaded)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_exporter_retry_after_a_lost_response_adds_nothing(db, tmp_path):
    with running_collector(db, tmp_path / "spool") as (collector, url):
        with _proxy(url, lambda: len(cost_rows(db)) == 8) as proxy:
            exporter = OTLPSpanExporter(endpoint=f"{proxy}/v1/traces", timeout=60)
            assert exporter.export(_workflow("TASK-R")) == SpanExportResult.SUCCESS
        metrics = httpx.get(f"{url}/metrics").text
        assert 'asp_collector_requests_total{code="200"} 2' in metrics  # the first, then the retry
        assert "asp_collector_spans_duplicate_total 5" in metrics
        wait_for(lambda: collector.spool.segments() == 0 or None, "nothing left to load")
    assert len(cost_rows(db)) == 8 and rejects(db) == []


def test_spans_of_one_trace_in_many_requests_in_reverse_order(db, tmp_path):
    spans = _workflow("TASK-O")  # children end (and are exported) first; here each alone, reversed
    with running_collector(db, tmp_path / "spool", settle_s=0.5) as (_, url):
        for one in reversed(spans):
            reply = httpx.post(f"{url}/v1/traces", content=orjson.dumps(collector_json([one])),
                               headers={"Content-Type": "application/json"})
            assert reply.status_code == 200
        rows = _rows_of(db, 8)
        # The workflow span came first here, but the agents' children came after them: the
        # trace waited until it was whole.
        values = {(row[1], row[2]): row[3] for row in rows}
        assert values[("Code", "Tokens_In")] == 1000 and values[("Test", "Tokens_Out")] == 30
        assert {row[0] for row in rows} == {"TASK-O"}
    assert len(query(db, "select 1 from raw.loads")) == 1


def test_children_first_and_the_root_last_wait_for_the_root(db, tmp_path):
    agent = span(5, 2, parent=1, operation="invoke_agent", gen_ai__agent__name="Design")
    chat = span(5, 3, parent=2, operation="chat", gen_ai__usage__input_tokens=77, gen_ai__usage__output_tokens=7)
    root = span(5, 1, asp__task_id="TASK-LATE-ROOT")
    with running_collector(db, tmp_path / "spool", settle_s=0.2, hold_s=120) as (collector, url):
        for one in (chat, agent):
            httpx.post(f"{url}/v1/traces", content=orjson.dumps(request([one])),
                       headers={"Content-Type": "application/json"}).raise_for_status()
        wait_for(lambda: collector.hold.spans == 2 or None, "both spans held")
        assert cost_rows(db) == []  # no root yet: the trace is not whole
        httpx.post(f"{url}/v1/traces", content=orjson.dumps(request([root])),
                   headers={"Content-Type": "application/json"}).raise_for_status()
        rows = _rows_of(db, 4)
        assert {row[0] for row in rows} == {"TASK-LATE-ROOT"}
        # A new span of the trace after it was mapped: late, rejected, not mapped twice.
        late = span(5, 4, parent=2, operation="chat", gen_ai__usage__input_tokens=1)
        httpx.post(f"{url}/v1/traces", content=orjson.dumps(request([late])),
                   headers={"Content-Type": "application/json"}).raise_for_status()
        [(reason,)] = wait_for(lambda: query(db, "select reason from raw.rejected_records"), "the late reject")
        assert "after the trace was mapped" in reason
        assert "asp_collector_spans_late_total 1" in httpx.get(f"{url}/metrics").text
    assert len(cost_rows(db)) == 4


def test_a_trace_without_an_agent_is_a_visible_reject(db, tmp_path):
    with running_collector(db, tmp_path / "spool") as (_, url):
        httpx.post(f"{url}/v1/traces", content=orjson.dumps(request([span(6, 1), span(6, 2, parent=1)])),
                   headers={"Content-Type": "application/json"}).raise_for_status()
        [(reason, text)] = wait_for(lambda: query(db, "select reason, original_text from raw.rejected_records"),
                                    "the reject")
        assert "no agent span" in reason and "0000000000000002" in text
        assert "asp_collector_traces_unmapped_total 1" in httpx.get(f"{url}/metrics").text


def test_tokens_wrong_revoked_and_recorded(db, tmp_path):
    env = cli_environment(db)
    token = run_cli("ingest-token", "create", "team-a", env=env).stdout.strip()
    assert token.startswith("aspt_") and "\n" not in token
    [(stored,)] = query(db, "select token_sha256 from raw.ingest_tokens")
    assert stored == tokens.digest(token) and token not in stored
    assert "already" in run_cli("ingest-token", "create", "team-a", env=env, check=False).stderr
    body = orjson.dumps(collector_json(_workflow("TASK-T")))
    with running_collector(db, tmp_path / "spool", allow_anonymous=False) as (_, url):
        def post(**headers: str) -> httpx.Response:
            return httpx.post(f"{url}/v1/traces", content=body,
                              headers={"Content-Type": "application/json", **headers})

        assert post().status_code == 401
        assert post(Authorization="Bearer aspt_wrong").status_code == 401
        assert post(Authorization=f"Basic {token}").status_code == 401
        assert post(Authorization=f"Bearer {token}").status_code == 200
        _rows_of(db, 8)
        assert query(db, "select ingest_token from raw.loads") == [("team-a",)]
        assert "revoked team-a" in run_cli("ingest-token", "revoke", "team-a", env=env).stdout
        wait_for(lambda: post(Authorization=f"Bearer {token}").status_code == 401, "the revoked token is refused")
    listing = run_cli("ingest-token", "list", env=env).stdout
    assert "team-a" in listing and "revoked" in listing
    assert "no ingest token named" in run_cli("ingest-token", "revoke", "nobody", env=env, check=False).stderr


def test_anonymous_only_on_loopback(db, tmp_path):
    result = run_cli("collect", "--listen", "0.0.0.0:4318", "--allow-anonymous", "--spool", str(tmp_path),
                     env=cli_environment(db), check=False)
    assert result.returncode == 1 and "loopback" in result.stderr
    with pytest.raises(InvalidInput, match="HOST:PORT"):
        from asp_telemetry.collector import parse_listen
        parse_listen("4318")


def test_the_collector_runs_as_a_writer_login(db, tmp_path):
    """Least privilege: a login with asp_writer only checks tokens, opens and closes its
    loads, records their token, and loads the rows."""
    import uuid

    from pydantic import SecretStr

    from asp_telemetry import roles

    user, password = f"collector_{uuid.uuid4().hex[:8]}", f"pw {uuid.uuid4().hex}"
    roles.grant_login(db, "asp_writer", user, password)
    try:
        writer = db.model_copy(update={"user": user, "password": SecretStr(password)})
        token = tokens.create(db, "writer-team")  # by the owner
        with running_collector(writer, tmp_path / "spool", allow_anonymous=False) as (_, url):
            exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers={"Authorization": f"Bearer {token}"})
            assert exporter.export(_workflow("TASK-W")) == SpanExportResult.SUCCESS
            _rows_of(db, 8)
        assert query(db, "select loaded_by, ingest_token, status from raw.loads") == [(user, "writer-team", "complete")]
    finally:
        roles.revoke_login(db, user)


def test_a_taken_address_is_a_clear_error(db, tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli("collect", "--listen", f"127.0.0.1:{port}", "--spool", str(tmp_path),
                         env=cli_environment(db), check=False)
    assert result.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
