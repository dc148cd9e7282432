"""`asp-telemetry collect` and `asp-telemetry ingest-token create|list|revoke`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from asp_telemetry import connection, migrations
from asp_telemetry.cli.app import app, console, handle_errors
from asp_telemetry.collector import hold as hold_window
from asp_telemetry.collector import server, tokens

tokens_app = typer.Typer(help="Tokens the collector accepts (Authorization: Bearer <token>).", no_args_is_help=True)
app.add_typer(tokens_app, name="ingest-token")


def collector_options(listen: str, spool: Path | None, allow_anonymous: bool, settle: float, hold: float,
                      max_body_bytes: int, max_backlog_bytes: int) -> server.CollectorOptions:
    host, port = server.parse_listen(listen)
    options = server.CollectorOptions(
        host=host, port=port, spool=spool, allow_anonymous=allow_anonymous, settle_s=settle, hold_s=hold,
        max_body_bytes=max_body_bytes, max_backlog_bytes=max_backlog_bytes,
    )
    server.check(options)
    return options


ListenOption = Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on (OTLP/HTTP's port is 4318).")]
SpoolOption = Annotated[Path | None, typer.Option(
    "--spool", help="Where acknowledged requests wait to be loaded (default $ASP_HOME/collector-spool).")]
AnonymousOption = Annotated[bool, typer.Option(
    "--allow-anonymous", help="Accept requests without a token (loopback addresses only).")]
SettleOption = Annotated[float, typer.Option(
    "--settle", min=0, help="Seconds a whole trace waits for more spans before it is mapped.")]
HoldOption = Annotated[float, typer.Option(
    "--hold", min=0.001, help="Seconds after its last span a trace is mapped, whole or not.")]
BodyOption = Annotated[int, typer.Option("--max-body-bytes", min=1, help="Larger requests get 413.")]
BacklogOption = Annotated[int, typer.Option(
    "--max-backlog-bytes", min=1, help="Over this many spooled bytes not yet loaded, requests get 503.")]


@app.command("collect")
@handle_errors
def collect(
    listen: ListenOption = server.DEFAULT_LISTEN,
    spool: SpoolOption = None,
    allow_anonymous: AnonymousOption = False,
    settle: SettleOption = hold_window.DEFAULT_SETTLE_S,
    hold: HoldOption = hold_window.DEFAULT_HOLD_S,
    max_body_bytes: BodyOption = server.DEFAULT_MAX_BODY_BYTES,
    max_backlog_bytes: BacklogOption = server.DEFAULT_MAX_BACKLOG_BYTES,
) -> None:
    """Receive OpenTelemetry traces over OTLP/HTTP (POST /v1/traces) and load them continuously.

    Point an exporter at it with OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:PORT and
    OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token>". Serves until interrupted."""
    options = collector_options(listen, spool, allow_anonymous, settle, hold, max_body_bytes, max_backlog_bytes)
    info = connection.resolve()
    if info.source == "embedded":
        migrations.upgrade(info)
    console.print(f"collecting OTLP/HTTP traces on http://{escape(listen)}/v1/traces (Ctrl-C stops)",
                  highlight=False, soft_wrap=True)
    server.collect(info, options)


@tokens_app.command("create")
@handle_errors
def create(name: Annotated[str, typer.Argument(help="A name for the token (recorded with its loads).")]) -> None:
    """Create a token and print it (only it, on stdout): it is shown this once, only its hash is kept."""
    info = connection.resolve()
    if info.source == "embedded":
        migrations.upgrade(info)
    print(tokens.create(info, name))


@tokens_app.command("list")
@handle_errors
def list_() -> None:
    """The tokens by name, with when they were created and revoked."""
    found = tokens.list_tokens(connection.resolve())
    if not found:
        console.print("no ingest tokens: `asp-telemetry ingest-token create NAME` makes one")
    for token in found:
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "valid"
        console.print(f"{escape(token.name)}  created {token.created_at:%Y-%m-%d %H:%M}  {state}", highlight=False)


@tokens_app.command("revoke")
@handle_errors
def revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token: the collector refuses it within a few seconds."""
    tokens.revoke(connection.resolve(), name)
    console.print(f"revoked {escape(name)}", highlight=False)
