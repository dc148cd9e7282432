"""The collector's benchmark (`make bench` runs it after the others; alone:
`.venv/bin/python -m bench.collector`).

The standard protobuf exporter (opentelemetry-exporter-otlp-proto-http) behind the SDK's batch
span processor sends agent traces (a workflow span with asp.task_id, an invoke_agent span, two
chat spans and a tool span) to `asp-telemetry collect` for BENCH_COLLECTOR_SECONDS (default
60). Measured: spans per second acknowledged (the exporter's calls), and loaded (until the last
execution is in raw.agent_cost_vector); acknowledgement latency p50/p99 of each export call;
the load lag the collector reports in /metrics (sampled each second); the collector's resident
memory. Then the same spans, written as OTLP/JSON lines, are loaded by `asp-telemetry load`
into a fresh database: the ratio of the two rates is the goal's (>= 0.8).

The producer is paced: it stops while more than MAX_IN_FLIGHT spans are not yet acknowledged,
so the batch span processor never drops spans and the rate is the collector's, not the queue's.
Results: bench/collector_results.json.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from asp_telemetry import connection
from bench.harness import CLI, REPOSITORY, Databases, cli_environment, load_average, run_command

RESULTS = REPOSITORY / "bench" / "collector_results.json"
COLLECT_DATABASE = "asp_bench_collect"
FILE_DATABASE = "asp_bench_collect_file"
SPANS_PER_TRACE = 5
MAX_IN_FLIGHT = 20_000  # per client
BATCH = 512
CLIENTS = 2  # exporters (each its own provider and batch span processor), so requests overlap


class TimedExporter(OTLPSpanExporter):
    """The standard exporter, timing each call (one request) and keeping what it sent."""

    def __init__(self, capture: Path, **kwargs):
        super().__init__(**kwargs)
        self.samples: list[tuple[float, float, int]] = []  # (end, seconds, spans)
        self.capture = capture.open("wb")
        self.acked = 0
        self.failed = 0

    def export(self, spans):
        started = time.perf_counter()
        result = super().export(spans)
        ended = time.perf_counter()
        if result.name == "SUCCESS":
            self.samples.append((ended, ended - started, len(spans)))
            self.acked += len(spans)
            data = encode_spans(spans).SerializeToString()
            self.capture.write(len(data).to_bytes(4, "big") + data)
        else:
            self.failed += len(spans)
        return result


def _produce(provider: TracerProvider, exporter: TimedExporter, seconds: float, client: int) -> int:
    tracer = provider.get_tracer("asp-bench")
    produced, deadline, number = 0, time.monotonic() + seconds, client * 10_000_000
    while time.monotonic() < deadline:
        if produced - exporter.acked - exporter.failed > MAX_IN_FLIGHT:
            time.sleep(0.005)
            continue
        for _ in range(100):
            number += 1
            with tracer.start_as_current_span("workflow", attributes={"asp.task_id": f"B-{number}"}):
                with tracer.start_as_current_span("invoke_agent Code", attributes={
                        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Code"}):
                    for tokens in (1200, 800):
                        with tracer.start_as_current_span("chat", attributes={
                                "gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet-4",
                                "gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": tokens,
                                "gen_ai.usage.output_tokens": tokens // 10}):
                            pass
                    with tracer.start_as_current_span("execute_tool pytest", attributes={
                            "gen_ai.operation.name": "execute_tool"}):
                        pass
            produced += SPANS_PER_TRACE
    return produced


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a running process (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _metric(text: str, name: str) -> float | None:
    found = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


def _executions(info) -> int:
    with connection.connect(info, autocommit=True) as conn:
        return conn.execute("select count(*) from raw.agent_cost_vector where metric_type = 'Latency'").fetchone()[0]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def measure(seconds: float, progress=print) -> dict[str, object]:
    databases = Databases()
    work = Path(tempfile.mkdtemp(prefix="asp-bench-collect-"))
    try:
        info = databases.fresh(COLLECT_DATABASE)
        port = _free_port()
        env = cli_environment(info)
        collector = subprocess.Popen(
            [*CLI, "collect", "--listen", f"127.0.0.1:{port}", "--allow-anonymous", "--spool", str(work / "spool")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPOSITORY,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, collector)
            result = _run_against(url, collector, info, seconds, work, progress)
        finally:
            collector.terminate()
            collector.wait(60)
        result["file_load"] = _load_file(databases, work, result["spans_acknowledged"], progress)
        result["ratio_loaded_vs_load"] = round(
            result["spans_per_second_loaded"] / result["file_load"]["spans_per_second"], 2)
        result["ratio_cpu_load_vs_collector"] = round(
            result["file_load"]["cpu_ms_per_1000_spans"] / result["collector_cpu_ms_per_1000_spans"], 2)
        return result
    finally:
        databases.drop(COLLECT_DATABASE)
        databases.drop(FILE_DATABASE)
        databases.drop_template()
        subprocess.run(["rm", "-rf", str(work)], check=False)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"collect exited {process.returncode}: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"collect did not answer on {url}")


def _run_against(url, collector, info, seconds, work, progress) -> dict[str, object]:
    exporters, providers = [], []
    for client in range(CLIENTS):
        exporter = TimedExporter(work / f"sent-{client}.bin", endpoint=f"{url}/v1/traces", timeout=60)
        provider = TracerProvider(resource=Resource.create({"service.name": f"asp-bench-{client}"}))
        provider.add_span_processor(BatchSpanProcessor(
            exporter, max_queue_size=MAX_IN_FLIGHT * 2, max_export_batch_size=BATCH, schedule_delay_millis=100))
        exporters.append(exporter)
        providers.append(provider)
    lags, rss = [], [_rss_mb(collector.pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            try:
                lag = _metric(httpx.get(f"{url}/metrics", timeout=5).text, "asp_collector_load_lag_seconds")
            except httpx.HTTPError:
                lag = None
            if lag is not None:
                lags.append(lag)
            rss.append(_rss_mb(collector.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    collector_cpu, client_cpu = _cpu_seconds(collector.pid), time.process_time()
    progress(f"collector: exporting agent traces for {seconds:g} s")
    started = time.perf_counter()
    counts: list[int] = []
    producers = [threading.Thread(target=lambda p=p, e=e, n=n: counts.append(_produce(p, e, seconds, n)))
                 for n, (p, e) in enumerate(zip(providers, exporters))]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    for provider in providers:
        provider.force_flush(120_000)
    acked_at = time.perf_counter()
    produced = sum(counts)
    acked = sum(exporter.acked for exporter in exporters)
    expected = acked // SPANS_PER_TRACE
    deadline = time.monotonic() + 600
    while _executions(info) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    loaded_at = time.perf_counter()
    collector_cpu, client_cpu = _cpu_seconds(collector.pid) - collector_cpu, time.process_time() - client_cpu
    stop.set()
    sampler.join()
    for provider, exporter in zip(providers, exporters):
        provider.shutdown()
        exporter.capture.close()
    latencies = [seconds_ for exporter in exporters for _, seconds_, _ in exporter.samples]
    loaded = _executions(info)
    progress(f"collector: {acked:,} spans acknowledged in {acked_at - started:.1f} s, "
             f"{loaded:,} executions loaded {loaded_at - acked_at:.1f} s after the last acknowledgement")
    return {
        "seconds": seconds,
        "spans_produced": produced,
        "clients": CLIENTS,
        "spans_acknowledged": acked,
        "spans_failed": sum(exporter.failed for exporter in exporters),
        "requests": len(latencies),
        "executions_expected": expected,
        "executions_loaded": loaded,
        "spans_per_second_acknowledged": round(acked / (acked_at - started)),
        "spans_per_second_loaded": round(acked / (loaded_at - started)),
        "catch_up_after_last_ack_s": round(loaded_at - acked_at, 2),
        "ack_latency_ms": {"p50": round(1000 * _percentile(latencies, 0.5), 1),
                           "p99": round(1000 * _percentile(latencies, 0.99), 1),
                           "mean": round(1000 * statistics.fmean(latencies), 1) if latencies else None},
        "load_lag_s": {"p50": round(_percentile(lags, 0.5), 2), "max": round(max(lags, default=0.0), 2)},
        "collector_rss_mb": {"start": round(rss[0], 1), "peak": round(max(rss), 1), "end": round(rss[-1], 1)},
        # CPU per thousand spans: on a shared machine a steadier measure than a rate.
        "collector_cpu_ms_per_1000_spans": round(1e6 * collector_cpu / acked, 1),
        "client_cpu_ms_per_1000_spans": round(1e6 * client_cpu / acked, 1),
    }


def _load_file(databases: Databases, work: Path, spans: int, progress) -> dict[str, object]:
    """The same spans as OTLP/JSON lines (one request per line), by `asp-telemetry load`."""
    path = work / "spans.otlp.jsonl"
    with path.open("wb") as out:
        for sent in sorted(work.glob("sent-*.bin")):
            with sent.open("rb") as source:
                while header := source.read(4):
                    message = ExportTraceServiceRequest()
                    message.ParseFromString(source.read(int.from_bytes(header, "big")))
                    out.write(orjson.dumps(json_format.MessageToDict(message)) + b"\n")
    info = databases.fresh(FILE_DATABASE)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = run_command([*CLI, "load", "--format", "otlp", str(path)], cli_environment(info))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    progress(f"load: {spans:,} spans from {path.stat().st_size / 1e6:.0f} MB of OTLP/JSON in {run.seconds:.1f} s")
    return {"seconds": round(run.seconds, 2), "spans_per_second": round(spans / run.seconds),
            "cpu_ms_per_1000_spans": round(1e6 * cpu / spans, 1),
            "peak_rss_mb": round(run.peak_rss_mb, 1), "executions_loaded": _executions(info)}


def main() -> None:
    seconds = float(os.environ.get("BENCH_COLLECTOR_SECONDS", "60"))
    load_at_start = load_average()
    result = measure(seconds)
    result["load_average"] = {"start": load_at_start, "end": load_average()}
    result["cores"] = os.cpu_count()
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
