"""The collector's HTTP endpoints (Starlette): POST /v1/traces (OTLP/HTTP), GET /health,
GET /metrics. Decoding and the spool's fsync run in worker threads, never on the event loop."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from dataclasses import dataclass

from google.rpc import status_pb2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from asp_telemetry.collector import decode
from asp_telemetry.collector.hold import Request
from asp_telemetry.collector.ingest import Ingestor, Received, read_request
from asp_telemetry.collector.metrics import Metrics
from asp_telemetry.collector.spool import Spool
from asp_telemetry.collector.tokens import TokenCache
from asp_telemetry.loading.formats import Item

RETRY_AFTER_S = 2


@dataclass
class Limits:
    max_body_bytes: int
    max_backlog_bytes: int


class Endpoint:
    """What the routes need: the spool, the loading side, the tokens, the counters."""

    def __init__(self, spool: Spool, ingestor: Ingestor, tokens: TokenCache | None, metrics: Metrics,
                 limits: Limits, allow_anonymous: bool):
        self.spool = spool
        self.ingestor = ingestor
        self.tokens = tokens
        self.metrics = metrics
        self.limits = limits
        self.allow_anonymous = allow_anonymous

    def accept(self, body: bytes, encoding: str | None, media: str, token: str | None) -> tuple[int, int]:
        """Decode, spool (fsynced) and hand over one request: (spans, spans rejected)."""
        data = decode.inflate(body, encoding, self.limits.max_body_bytes)
        seq = self.spool.next_seq()
        found = read_request(data, media, seq)
        segment = self.spool.append(seq, decode.KIND_OF[media], token, data)
        self.ingestor.submit(Received(Request(seq, segment, token, time.time()), found))
        rejected = sum(1 for item in found if isinstance(item, Item))
        return len(found) - rejected, rejected


def _error(status: int, message: str, media: str, headers: dict[str, str] | None = None) -> Response:
    """A failure as the specification wants it: a google.rpc.Status in the request's encoding."""
    reply = status_pb2.Status(code=status, message=message)
    if media == decode.PROTOBUF:
        return Response(reply.SerializeToString(), status_code=status, media_type=decode.PROTOBUF, headers=headers)
    return JSONResponse({"code": status, "message": message}, status_code=status, headers=headers)


def build_app(endpoint: Endpoint) -> Starlette:
    metrics = endpoint.metrics

    async def traces(request: HttpRequest) -> Response:
        response = await _traces(request)
        metrics.request(response.status_code)
        return response

    async def _traces(request: HttpRequest) -> Response:
        media = decode.media_type(request.headers.get("content-type"))
        reply = media if media in decode.MEDIA_TYPES else decode.JSON
        token_name = None
        authorization = request.headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token or endpoint.tokens is None:
                return _error(401, "the Authorization header must be `Bearer <ingest token>`", reply,
                              {"WWW-Authenticate": "Bearer"})
            token_name = await run_in_threadpool(endpoint.tokens.name_of, token)
            if token_name is None:
                return _error(401, "unknown or revoked ingest token: `asp-telemetry ingest-token create NAME` "
                              "makes one", reply, {"WWW-Authenticate": "Bearer"})
        elif not endpoint.allow_anonymous:
            return _error(401, "missing `Authorization: Bearer <ingest token>` (set OTEL_EXPORTER_OTLP_HEADERS)",
                          reply, {"WWW-Authenticate": "Bearer"})
        if media not in decode.MEDIA_TYPES:
            return _error(415, f"Content-Type {media or '(none)'} is not supported: send "
                          "application/x-protobuf or application/json", reply)
        if endpoint.spool.backlog_bytes > endpoint.limits.max_backlog_bytes:
            return _error(503, "the backlog of requests not yet loaded is over its bound: retry later", reply,
                          {"Retry-After": str(RETRY_AFTER_S)})
        limit = endpoint.limits.max_body_bytes
        too_large = f"the body is over the limit of {limit} bytes (--max-body-bytes): export smaller batches"
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return _error(413, too_large, reply)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return _error(413, too_large, reply)
            chunks.append(chunk)
        try:
            spans, rejected = await run_in_threadpool(
                endpoint.accept, b"".join(chunks), request.headers.get("content-encoding"), media, token_name
            )
        except decode.BodyTooLarge:
            return _error(413, too_large, reply)
        except decode.Undecodable as exc:
            return _error(400, str(exc), reply)
        metrics.add("asp_collector_spans_received_total", spans + rejected)
        metrics.add("asp_collector_spans_rejected_total", rejected)
        message = (f"{rejected} span(s) could not be read; they are in raw.rejected_records with the reason"
                   if rejected else "")
        return Response(decode.response(media, rejected, message), media_type=media)

    async def health(request: HttpRequest) -> Response:
        ingestor = endpoint.ingestor
        problems = []
        if not ingestor.is_alive():
            problems.append("the loading thread is not running")
        if ingestor.error:
            problems.append(ingestor.error)
        if endpoint.spool.backlog_bytes > endpoint.limits.max_backlog_bytes:
            problems.append("the backlog is over its bound")
        body = {"status": "unhealthy" if problems else "ok", "problems": problems,
                "backlog_bytes": endpoint.spool.backlog_bytes, "load_lag_seconds": round(ingestor.load_lag(), 3)}
        return JSONResponse(body, status_code=503 if problems else 200)

    async def metrics_text(request: HttpRequest) -> Response:
        return PlainTextResponse(metrics.text(), media_type="text/plain; version=0.0.4")

    @asynccontextmanager
    async def lifespan(app: Starlette):
        if not endpoint.ingestor.is_alive():
            endpoint.ingestor.start()
        yield
        await run_in_threadpool(endpoint.ingestor.stop)

    return Starlette(
        routes=[
            Route("/v1/traces", traces, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics_text, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
