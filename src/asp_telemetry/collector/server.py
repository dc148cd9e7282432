"""Running the collector: options, the pieces wired together, uvicorn."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from pathlib import Path

import uvicorn
from pydantic import BaseModel, ConfigDict, Field

from asp_telemetry import paths
from asp_telemetry.collector.app import Endpoint, Limits, build_app
from asp_telemetry.collector.hold import DEFAULT_HOLD_S, DEFAULT_SETTLE_S, TraceHold
from asp_telemetry.collector.ingest import DEFAULT_FLUSH_S, Ingestor
from asp_telemetry.collector.metrics import Metrics
from asp_telemetry.collector.spool import Spool
from asp_telemetry.collector.tokens import TokenCache
from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.errors import InvalidInput

DEFAULT_LISTEN = "127.0.0.1:4318"
DEFAULT_MAX_BODY_BYTES = 16 << 20
DEFAULT_MAX_BACKLOG_BYTES = 512 << 20


class CollectorOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(4318, ge=0, le=65535)
    spool: Path | None = None  # default: $ASP_HOME/collector-spool
    allow_anonymous: bool = False
    settle_s: float = Field(DEFAULT_SETTLE_S, ge=0)
    hold_s: float = Field(DEFAULT_HOLD_S, gt=0)
    flush_s: float = Field(DEFAULT_FLUSH_S, gt=0)
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, gt=0)
    max_backlog_bytes: int = Field(DEFAULT_MAX_BACKLOG_BYTES, gt=0)


def parse_listen(listen: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets) as (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host or int(port) > 65535:
        raise InvalidInput(f"--listen {listen!r}: use HOST:PORT, for example {DEFAULT_LISTEN} or [::1]:4318")
    return host.removeprefix("[").removesuffix("]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(options: CollectorOptions) -> None:
    if options.allow_anonymous and not is_loopback(options.host):
        raise InvalidInput(
            f"--allow-anonymous listens on a loopback address only (127.0.0.1, ::1, localhost), not "
            f"{options.host}: create a token with `asp-telemetry ingest-token create NAME` instead"
        )


class Collector:
    """A collector's pieces, before and while it serves."""

    def __init__(self, info: ConnectionInfo, options: CollectorOptions):
        check(options)
        self.options = options
        self.socket = _bind(options.host, options.port)
        try:
            self.spool = Spool(options.spool or paths.asp_home() / "collector-spool")
        except BaseException:
            self.socket.close()
            raise
        self.metrics = Metrics()
        self.hold = TraceHold(options.settle_s, options.hold_s)
        self.ingestor = Ingestor(info, self.spool, self.hold, self.metrics, options.flush_s)
        self.endpoint = Endpoint(
            self.spool, self.ingestor, TokenCache(info), self.metrics,
            Limits(options.max_body_bytes, options.max_backlog_bytes), options.allow_anonymous,
        )
        m = self.metrics
        m.gauge("asp_collector_backlog_bytes", "Spool bytes acknowledged and not yet loaded.",
                lambda: self.spool.backlog_bytes)
        m.gauge("asp_collector_traces_held", "Traces held open for more spans.", lambda: len(self.hold.traces))
        m.gauge("asp_collector_spans_held", "Spans of the traces held.", lambda: self.hold.spans)
        m.gauge("asp_collector_load_lag_seconds", "Age of the oldest acknowledged request not yet loaded.",
                self.ingestor.load_lag)
        self.app = build_app(self.endpoint)
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, host=options.host, port=options.port, log_level="warning", access_log=False,
            lifespan="on", timeout_graceful_shutdown=10,
        ))

    def serve(self) -> None:
        """Serve until interrupted (SIGINT, SIGTERM), then load what is whole and stop."""
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.spool.close()
            self.socket.close()

    def start_in_thread(self) -> threading.Thread:
        """Serve from a thread (beside the scheduled flows); `stop()` ends it."""
        self.thread = threading.Thread(target=self.serve, name="asp-collector", daemon=True)
        self.thread.start()
        return self.thread

    def wait_started(self, timeout_s: float = 60.0) -> None:
        """Until it serves; InvalidInput if it stopped first."""
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise InvalidInput(
                    f"the collector on {self.options.host}:{self.options.port} did not start: see the messages above"
                )
            time.sleep(0.05)

    def stop(self, timeout_s: float = 30.0) -> None:
        self.server.should_exit = True
        thread = getattr(self, "thread", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken address is a clear error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise InvalidInput(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): is another process using it? "
            "Choose another address (--listen, or --collect-listen for serve)"
        ) from None


def collect(info: ConnectionInfo, options: CollectorOptions) -> None:
    Collector(info, options).serve()
