"""The collector's loading side: acknowledged requests into the raw tables.

One thread takes the spans of acknowledged requests (and, at start, of the spool a previous
run left), holds each trace until it is whole (hold.py), and every `flush_s` loads the traces
ready since the last time as one load per ingest token, through the file loader
(loading.source_loader.SourceLoader): the same mapping (formats/otlp.py), validation, identities and
rejects as `asp-telemetry load`. A request's spool segment goes once all its traces are
loaded. A load that fails (the database is down) is retried at the next flush, whatever was
committed of it is recognised then (identities), and the spool keeps the requests meanwhile.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from asp_telemetry.collector import decode
from asp_telemetry.collector.hold import HeldTrace, LateSpans, Request, TraceHold, summary_of
from asp_telemetry.collector.metrics import Metrics
from asp_telemetry.collector.spool import Frame, Spool
from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.loading import ledger, vocabulary
from asp_telemetry.loading.formats import Item, dumps_original
from asp_telemetry.loading.formats.otlp import Span, request_spans, trace_items
from asp_telemetry.loading.records import RecordValidator
from asp_telemetry.loading.source_loader import LOST_CONNECTION, SourceLoader
from asp_telemetry.loading.summary import LoadSummary

log = logging.getLogger("asp_telemetry.collector")

SOURCE_IDENTITY = "otlp-http"  # the rejects' identity: with "request N, ..." positions, stable across restarts
DEFAULT_FLUSH_S = 0.5
RETRY_AFTER_FAILURE_S = 2.0
NO_AGENT = (
    "trace {}: no agent span (gen_ai.operation.name invoke_agent, or openinference.span.kind AGENT), "
    "so no agent execution to map; these spans are kept here, not loaded"
)
LATE = (
    "trace {}: {} span(s) arrived after the trace was mapped (the collector's hold window, --hold, was over): "
    "not mapped, so that its executions are not counted twice"
)


@dataclass
class Received:
    """An acknowledged request and what was read of it: spans, and Items for spans that
    could not be read (rejected in the response's partial_success)."""

    request: Request
    found: list[Span | Item]


def read_request(data: bytes, media: str, seq: int) -> list[Span | Item]:
    """The spans of one request body (inflated), through the file loader's OTLP reader.
    Raises decode.Undecodable when it is not an ExportTraceServiceRequest at all."""
    request = decode.decode(data, media)
    found = list(request_spans(request, seq))
    for item in found:
        if isinstance(item, Item) and item.position is None:  # the request as a whole
            raise decode.Undecodable(item.error or "not an ExportTraceServiceRequest")
    return found


def _positioned(item: Item) -> Item:
    """The loader says "line N"; the collector's N is a request number."""
    if item.position and item.position.startswith("line "):
        item.position = "request " + item.position.removeprefix("line ")
    return item


class Ingestor(threading.Thread):
    def __init__(self, info: ConnectionInfo, spool: Spool, hold: TraceHold, metrics: Metrics,
                 flush_s: float = DEFAULT_FLUSH_S):
        super().__init__(daemon=True, name="asp-collector-ingest")
        self.info = info
        self.spool = spool
        self.hold = hold
        self.metrics = metrics
        self.flush_s = flush_s
        self.inbox: queue.SimpleQueue[Received] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.started_loading = threading.Event()  # the spool of the previous run is read
        self.unresolved: OrderedDict[int, Request] = OrderedDict()
        self._unresolved_lock = threading.Lock()
        self._rejects: list[tuple[Item, Request]] = []
        self.error: str | None = None  # the last load's failure, until one succeeds
        self.loads = 0
        self._loader: SourceLoader | None = None
        self._validator: RecordValidator | None = None

    # --- the HTTP side ---------------------------------------------------------------------

    def submit(self, received: Received) -> None:
        with self._unresolved_lock:
            self.unresolved[received.request.seq] = received.request
        self.inbox.put(received)

    def load_lag(self) -> float:
        """Seconds since the oldest acknowledged request not yet loaded arrived (0: none)."""
        with self._unresolved_lock:
            if not self.unresolved:
                return 0.0
            oldest = next(iter(self.unresolved.values())).received
        return max(0.0, time.time() - oldest)

    def stop(self, timeout: float | None = None) -> None:
        """Load what is whole, then end (what is not stays in the spool for the next start)."""
        self.stopping.set()
        self.join(timeout)

    # --- the thread ------------------------------------------------------------------------

    def run(self) -> None:
        self._validator = RecordValidator(vocabulary.load())
        try:
            self._replay()
        finally:
            self.started_loading.set()
        next_flush = time.monotonic() + self.flush_s
        while True:
            stopping = self.stopping.is_set()
            timeout = max(0.0, next_flush - time.monotonic())
            try:
                received = self.inbox.get(timeout=0 if stopping else timeout)
            except queue.Empty:
                received = None
            if received is not None:
                self._take(received)
                while True:  # everything queued, then a look at the clock
                    try:
                        self._take(self.inbox.get_nowait())
                    except queue.Empty:
                        break
                    if time.monotonic() >= next_flush:
                        break
            if stopping and received is None:
                self._flush(final=True)
                break
            if time.monotonic() >= next_flush:
                ok = self._flush()
                next_flush = time.monotonic() + (self.flush_s if ok else RETRY_AFTER_FAILURE_S)
        if self._loader is not None:
            self._loader.__exit__(None, None, None)
            self._loader = None

    def _replay(self) -> None:
        replayed = 0
        for frame in self.spool.replay():
            self._take_frame(frame)
            replayed += 1
        if replayed:
            log.warning("read %d acknowledged request(s) left in the spool by the last run", replayed)

    def _take_frame(self, frame: Frame) -> None:
        request = Request(frame.seq, frame.segment, frame.token, time.time())
        media = decode.MEDIA_OF.get(frame.kind, decode.JSON)
        try:
            found = read_request(frame.body, media, frame.seq)
        except decode.Undecodable as exc:  # it was read when acknowledged: the spool was altered
            found = [Item(frame.seq, b"", None, error=f"the spooled request cannot be read again ({exc})",
                          position=f"request {frame.seq}", record_type="agent_cost_vector",
                          original=frame.body.decode("utf-8", errors="backslashreplace"))]
        with self._unresolved_lock:
            self.unresolved[request.seq] = request
        self._take(Received(request, found))

    def _take(self, received: Received) -> None:
        request, now = received.request, time.monotonic()
        late: dict[str, LateSpans] = {}
        duplicates = self.hold.duplicates
        for found in received.found:
            if isinstance(found, Item):
                self._rejects.append((_positioned(found), request))
                request.pending += 1
            else:
                self.hold.add(found, request, now, late)
        if self.hold.duplicates > duplicates:
            self.metrics.add("asp_collector_spans_duplicate_total", self.hold.duplicates - duplicates)
        for spans in late.values():
            self.metrics.add("asp_collector_spans_late_total", len(spans.spans))
            item = Item(request.seq, dumps_original(summary_of(spans.spans)), None,
                        error=LATE.format(spans.trace_id, len(spans.spans)),
                        position=f"request {request.seq}, trace {spans.trace_id}", record_type="agent_cost_vector")
            self._rejects.append((item, request))
            request.pending += 1
        request.parsed = True
        self._settle(request)

    def _settle(self, request: Request) -> None:
        if request.parsed and request.pending == 0:
            with self._unresolved_lock:
                self.unresolved.pop(request.seq, None)
            self.spool.release(request.segment, 1)

    def _done(self, request: Request) -> None:
        request.pending -= 1
        self._settle(request)

    def _flush(self, final: bool = False) -> bool:
        """Load the traces ready (and the rejects waiting); False if a load failed."""
        traces = self.hold.ready(time.monotonic(), everything_whole=final)
        rejects, self._rejects = self._rejects, []
        ok = True
        if traces or rejects:
            groups: dict[str | None, tuple[list[HeldTrace], list[tuple[Item, Request]]]] = {}
            for trace in traces:
                groups.setdefault(trace.token, ([], []))[0].append(trace)
            for item, request in rejects:
                groups.setdefault(request.token, ([], []))[1].append((item, request))
            for token, (group_traces, group_rejects) in groups.items():
                if not self._load(token, group_traces, group_rejects):
                    ok = False
                    self.hold.put_back(group_traces)
                    self._rejects.extend(group_rejects)
        self.spool.rotate_if_old()
        return ok

    def _items(self, traces: list[HeldTrace], rejects: list[tuple[Item, Request]]) -> Iterator[Item]:
        for trace in traces:
            mapped = False
            for item in trace_items(trace.trace_id, trace.spans):
                mapped = True
                yield _positioned(item)
            if not mapped:
                self.metrics.add("asp_collector_traces_unmapped_total")
                first = min(request.seq for request in trace.requests)
                yield Item(first, dumps_original(summary_of(list(trace.spans.values()))[:1000]), None,
                           error=NO_AGENT.format(trace.trace_id), position=f"request {first}, trace {trace.trace_id}",
                           record_type="agent_cost_vector")
        for item, _ in rejects:
            yield item

    def _load(self, token: str | None, traces: list[HeldTrace], rejects: list[tuple[Item, Request]]) -> bool:
        summary = LoadSummary(source=f"otlp-http ({token or 'anonymous'})")
        try:
            loader = self._open_loader()
            summary.load_id = loader.open_ledger(summary.source, None, None, None)
            loader.control.execute("update raw.loads set ingest_token = %s where load_id = %s",
                                   [token, summary.load_id])
            try:
                loader.load_items(summary, self._items(traces, rejects), SOURCE_IDENTITY)
            except psycopg.Error as exc:
                summary.status, summary.retryable = "interrupted", True
                summary.error = LOST_CONNECTION.format(type(exc).__name__)
                raise
            except BaseException:
                summary.status, summary.error = "interrupted", "interrupted"
                raise
            finally:
                ledger.finish(self.info, loader.control, summary, "otlp", None, None)
        except Exception as exc:  # noqa: BLE001 - the spool keeps the requests: retried at the next flush
            self.error = f"loading failed ({type(exc).__name__}: {exc}); retrying"
            log.warning("collector: %s", self.error)
            self.metrics.add("asp_collector_load_failures_total")
            self._close_loader()
            return False
        self.error = None
        self.loads += 1
        self.metrics.add("asp_collector_loads_total")
        self.metrics.add("asp_collector_traces_loaded_total", len(traces))
        self.metrics.add("asp_collector_records_loaded_total", summary.loaded + summary.updated)
        self.metrics.add("asp_collector_records_duplicate_total", summary.duplicates)
        self.metrics.add("asp_collector_records_rejected_total", summary.rejected)
        self.hold.loaded(traces, time.monotonic())
        for trace in traces:
            for request in trace.requests:
                self._done(request)
        for _, request in rejects:
            self._done(request)
        return True

    def _open_loader(self) -> SourceLoader:
        if self._loader is None:
            assert self._validator is not None
            loader = SourceLoader(self.info, self._validator)
            loader.__enter__()
            self._loader = loader
        return self._loader

    def _close_loader(self) -> None:
        if self._loader is not None:
            try:
                self._loader.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - it is being dropped
                pass
            self._loader = None
