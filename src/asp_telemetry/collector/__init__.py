"""The OTLP/HTTP collector: `asp-telemetry collect` (docs/collector.md).

    app.py      POST /v1/traces, GET /health, GET /metrics (Starlette, served by uvicorn)
    decode.py   protobuf and JSON bodies, gzip, the ExportTraceServiceResponse
    spool.py    append + fsync before 200; what a restart reads again
    hold.py     traces held open until their spans are in
    ingest.py   the loading side: held traces into the raw tables through the file loader
    tokens.py   ingest tokens (hashes only)
    server.py   options and wiring
"""

from asp_telemetry.collector.server import Collector, CollectorOptions, collect, parse_listen

__all__ = ["Collector", "CollectorOptions", "collect", "parse_listen"]
