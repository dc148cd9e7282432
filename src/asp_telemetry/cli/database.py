"""`asp-telemetry db ...` and `asp-telemetry env`."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from asp_telemetry import connection, embedded, migrations, roles
from asp_telemetry.cli.app import app, console, handle_errors

db_app = typer.Typer(help="The database: schema migrations, the embedded server, logins.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@handle_errors
def upgrade(
    to: Annotated[int | None, typer.Option("--to", help="Stop after this migration version.")] = None,
    with_foreign_keys: Annotated[
        bool, typer.Option("--with-foreign-keys", help="Also add the specification's optional foreign keys.")
    ] = False,
) -> None:
    """Apply pending migrations (safe to run again, and from several processes at once)."""
    info = connection.resolve()
    applied = migrations.upgrade(
        info,
        target=to,
        with_foreign_keys=with_foreign_keys,
        on_applied=lambda m, ms: console.print(f"applied {m.path.name} ({ms:.0f} ms)"),
    )
    if not applied:
        console.print(f"{info.describe()}: schema is up to date")
    if with_foreign_keys:
        console.print("foreign keys fk_acv_task and fk_defect_task are in place")


@db_app.command("status")
@handle_errors
def status() -> None:
    """The server in use and the applied and pending migrations."""
    info = connection.resolve()
    with connection.connect(info) as conn:
        version = conn.execute("show server_version").fetchone()[0]
    console.print(f"database: {info.describe()}, PostgreSQL {version}")
    table = Table("version", "migration", "state", "applied at")
    for item in migrations.status(info):
        style = {"applied": "green", "pending": "yellow"}.get(item.state, "bold red")
        applied_at = f"{item.applied_at:%Y-%m-%d %H:%M:%S}" if item.applied_at else ""
        table.add_row(f"{item.version:04d}", item.name, f"[{style}]{item.state}[/]", applied_at)
    console.print(table)


@db_app.command("start")
@handle_errors
def start() -> None:
    """Start the embedded server (commands start it on their own when needed)."""
    server = embedded.start()
    console.print(f"embedded PostgreSQL running: data {server.data_dir}, socket {server.socket_dir}")


@db_app.command("stop")
@handle_errors
def stop() -> None:
    """Stop the embedded server."""
    if embedded.stop():
        console.print(f"stopped the embedded PostgreSQL ({embedded.data_dir()})")
    else:
        console.print("the embedded PostgreSQL is not running")


@db_app.command("grant-login")
@handle_errors
def grant_login(
    role: Annotated[str, typer.Argument(help="asp_writer, asp_transformer or asp_reader.")],
    user: Annotated[str, typer.Argument(help="The login to create or update.")],
    password_env: Annotated[
        str, typer.Option(help="Environment variable holding the password; prompted for when unset.")
    ] = "ASP_LOGIN_PASSWORD",
) -> None:
    """Make USER a login that acts as ROLE."""
    password = os.environ.get(password_env) or typer.prompt(
        f"password for {user}", hide_input=True, confirmation_prompt=True
    )
    created = roles.grant_login(connection.resolve(), role, user, password)
    console.print(f"{'created' if created else 'updated'} login {user} with role {role}")


@app.command("env")
@handle_errors
def env() -> None:
    """Print `export PG...` lines for the database in use: eval "$(asp-telemetry env)"; dbt build."""
    print(connection.shell_exports(connection.resolve()))
