"""The collector's counters, as Prometheus text (`GET /metrics`)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

# name: (type, help)
COUNTERS = {
    "asp_collector_spans_received_total": "Spans in acknowledged requests.",
    "asp_collector_spans_rejected_total": "Spans rejected when received (reported in partial_success).",
    "asp_collector_spans_duplicate_total": "Spans sent again after their trace was loaded (a retry): nothing added.",
    "asp_collector_spans_late_total": "Spans that arrived after their trace was mapped (rejected, not mapped).",
    "asp_collector_traces_loaded_total": "Traces mapped and loaded.",
    "asp_collector_traces_unmapped_total": "Traces without an agent span (rejected, visible in raw.rejected_records).",
    "asp_collector_records_loaded_total": "Rows added to the raw tables.",
    "asp_collector_records_duplicate_total": "Records already loaded (a retry, a replayed spool).",
    "asp_collector_records_rejected_total": "Records rejected by the loader (raw.rejected_records).",
    "asp_collector_loads_total": "Loads (batches of traces, one ledger row in raw.loads each).",
    "asp_collector_load_failures_total": "Loads that failed (retried: the spool keeps their requests).",
}


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()  # by status code
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            self.counters[name] += amount

    def request(self, status: int) -> None:
        with self._lock:
            self.requests[str(status)] += 1

    def gauge(self, name: str, help: str, read: Callable[[], float]) -> None:
        self.gauges[name] = (help, read)

    def text(self) -> str:
        with self._lock:
            counters, requests = dict(self.counters), dict(self.requests)
        lines = [
            "# HELP asp_collector_requests_total Requests to POST /v1/traces, by response status.",
            "# TYPE asp_collector_requests_total counter",
        ]
        lines += [f'asp_collector_requests_total{{code="{code}"}} {n}' for code, n in sorted(requests.items())]
        for name, help in COUNTERS.items():
            lines += [f"# HELP {name} {help}", f"# TYPE {name} counter", f"{name} {counters.get(name, 0):g}"]
        for name, (help, read) in self.gauges.items():
            lines += [f"# HELP {name} {help}", f"# TYPE {name} gauge", f"{name} {read():g}"]
        return "\n".join(lines) + "\n"
