"""Traces held open until their spans are all in (docs/collector.md, "When a trace is mapped").

Spans of one trace arrive over many requests, in any order: an exporter's batch span
processor sends a span when it ends, so the children of an agent span usually come before
it and the root (the workflow span that may carry `asp.task_id`) last. A trace is mapped
once, when either

- it is **whole**: it has a root (a span without a parent) and the parent of every span is in
  the trace, and no span of it has arrived for `settle_s` (default 2 s); or
- `hold_s` (default 60 s) have passed since its last span arrived, whole or not: it is mapped
  with what came (a span whose parent never came is a root of its own).

The spans of a mapped trace are remembered (by id, for `remember_s`, at most REMEMBER_SPANS
in all): one that arrives again (an exporter's retry after a lost response) is a duplicate and
adds nothing; a new one is late: it is not mapped (its trace's executions are loaded, mapping
it again could count them twice) but rejected with the reason, and counted in /metrics. Past
that memory (or after a restart) a span arriving again is mapped again, and the loader's
identities make the same execution add nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from asp_telemetry.loading.formats.otlp import Span

DEFAULT_SETTLE_S = 2.0
DEFAULT_HOLD_S = 60.0
DEFAULT_REMEMBER_S = 600.0
REMEMBER_SPANS = 1_000_000  # span ids of mapped traces remembered, at most


@dataclass
class Request:
    """An acknowledged request, until all the traces it carried spans of are loaded."""

    seq: int
    segment: int
    token: str | None
    received: float  # time.time() when acknowledged
    pending: int = 0  # traces it touched that are not loaded yet
    parsed: bool = False  # all its spans were handed to the hold


@dataclass
class HeldTrace:
    trace_id: str
    token: str | None
    first_seen: float
    last_seen: float
    spans: dict[str, Span] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def whole(self) -> bool:
        spans = self.spans
        has_root = False
        for span in spans.values():
            parent = span.parent_id
            if parent is None:
                has_root = True
            elif parent not in spans:
                return False
        return has_root


@dataclass
class LateSpans:
    trace_id: str
    request: Request
    spans: list[Span] = field(default_factory=list)


class TraceHold:
    def __init__(self, settle_s: float = DEFAULT_SETTLE_S, hold_s: float = DEFAULT_HOLD_S,
                 remember_s: float = DEFAULT_REMEMBER_S):
        self.settle_s = settle_s
        self.hold_s = max(hold_s, settle_s)
        self.remember_s = remember_s
        self.traces: dict[str, HeldTrace] = {}
        # trace id -> (when it was mapped, its span ids)
        self.mapped: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()
        self.remembered = 0  # span ids in self.mapped
        self.spans = 0
        self.duplicates = 0

    def add(self, span: Span, request: Request, now: float, late: dict[str, LateSpans]) -> None:
        trace = self.traces.get(span.trace_id)
        if trace is None:
            mapped = self.mapped.get(span.trace_id)
            if mapped is not None:
                if span.span_id in mapped[1]:
                    self.duplicates += 1  # sent again: it is loaded already
                    return
                found = late.get(span.trace_id)
                if found is None:
                    found = late[span.trace_id] = LateSpans(span.trace_id, request)
                found.spans.append(span)
                return
            trace = self.traces[span.trace_id] = HeldTrace(span.trace_id, request.token, now, now)
        trace.last_seen = now
        if span.span_id not in trace.spans:
            self.spans += 1
        trace.spans[span.span_id] = span  # a span exported twice is one span
        if not trace.requests or trace.requests[-1] is not request:
            trace.requests.append(request)
            request.pending += 1

    def ready(self, now: float, everything_whole: bool = False) -> list[HeldTrace]:
        """The traces to map now, taken out of the hold. `everything_whole`: at shutdown, the
        whole traces whatever their settle time."""
        out = []
        for trace_id, trace in list(self.traces.items()):
            quiet = now - trace.last_seen
            if quiet >= self.hold_s or ((quiet >= self.settle_s or everything_whole) and trace.whole()):
                del self.traces[trace_id]
                self.spans -= len(trace.spans)
                out.append(trace)
        return out

    def put_back(self, traces: list[HeldTrace]) -> None:
        """Traces whose load failed: held again, to be loaded at the next attempt."""
        for trace in traces:
            self.traces[trace.trace_id] = trace
            self.spans += len(trace.spans)

    def loaded(self, traces: list[HeldTrace], now: float) -> None:
        for trace in traces:
            ids = frozenset(trace.spans)
            self.mapped[trace.trace_id] = (now, ids)
            self.remembered += len(ids)
        while self.mapped:
            at, ids = next(iter(self.mapped.values()))
            if now - at <= self.remember_s and self.remembered <= REMEMBER_SPANS:
                break
            self.mapped.popitem(last=False)
            self.remembered -= len(ids)

    def oldest(self) -> float | None:
        """When the oldest span still held arrived."""
        return min((trace.first_seen for trace in self.traces.values()), default=None)


def summary_of(spans: list[Span]) -> list[dict[str, Any]]:
    """What a reject shows of spans that are not mapped: the agent spans as read, the others
    by id, parent and name (their attributes other than the mapping's are not kept)."""
    return [
        span.raw if span.raw is not None else
        {"traceId": span.trace_id, "spanId": span.span_id, "parentSpanId": span.parent_id, "name": span.name}
        for span in spans
    ]
