"""`asp-telemetry db ...` and `asp-telemetry env`."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from asp_telemetry import connection, embedded, migrations, roles
from asp_telemetry.cli.app import app, console, error_console, handle_errors

COST_PARTITIONS_MIGRATION = 11
db_app = typer.Typer(help="The database: schema migrations, the embedded server, logins.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@handle_errors
def upgrade(
    to: Annotated[int | None, typer.Option("--to", help="Stop after this migration version.")] = None,
    with_foreign_keys: Annotated[
        bool, typer.Option("--with-foreign-keys", help="Also add the specification's optional foreign keys.")
    ] = False,
    allow_out_of_order: Annotated[
        bool,
        typer.Option("--allow-out-of-order", help="Also apply migrations numbered below the latest applied one."),
    ] = False,
) -> None:
    """Apply pending migrations (safe to run again, and from several processes at once)."""
    info = connection.resolve()
    applied = migrations.upgrade(
        info,
        target=to,
        with_foreign_keys=with_foreign_keys,
        on_applied=lambda m, ms: console.print(f"applied {m.path.name} ({ms:.0f} ms)"),
        allow_out_of_order=allow_out_of_order,
    )
    if not applied:
        console.print(f"{info.describe()}: schema is up to date")
    if with_foreign_keys:
        console.print("foreign keys fk_acv_task and fk_defect_task are in place")


@db_app.command("status")
@handle_errors
def status() -> None:
    """The server in use, where it listens, and each migration. Exits 1 when a migration was
    changed, renamed or removed after it was applied, or is pending below the latest one."""
    info = connection.resolve()
    with connection.connect(info) as conn:
        version = conn.execute("show server_version").fetchone()[0]
    console.print(f"database: {info.describe()}, PostgreSQL {version}", highlight=False, soft_wrap=True)
    if info.source == "embedded":
        server = embedded.running()
        if server is not None:
            console.print(f"listening: {server.describe_listening()}", highlight=False, soft_wrap=True)
    table = Table("version", "migration", "state", "applied at")
    states = migrations.status(info)
    for item in states:
        style = {"applied": "green", "pending": "yellow"}.get(item.state, "bold red")
        applied_at = f"{item.applied_at:%Y-%m-%d %H:%M:%S}" if item.applied_at else ""
        table.add_row(f"{item.version:04d}", item.name, f"[{style}]{item.state}[/]", applied_at)
    console.print(table)
    if any(item.version == COST_PARTITIONS_MIGRATION and item.state == "applied" for item in states):
        from asp_telemetry import retention

        outside = retention.default_partition_rows(info)
        if outside:
            console.print(f"[yellow]{outside:,} cost row(s) in raw.agent_cost_vector_default[/]: more than ten "
                          "years back or a year ahead of now (docs/partitions.md)", highlight=False, soft_wrap=True)
    problems = [item for item in states if item.problem]
    if problems:
        listed = ", ".join(f"{item.version:04d}_{item.name} {item.state}" for item in problems)
        error_console.print(
            f"[bold red]error:[/] {escape(listed)}: `asp-telemetry db upgrade` says what to do", highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


@db_app.command("retain")
@handle_errors
def retain(
    older_than: Annotated[str, typer.Option("--older-than", help="30d, 12w, 1y: drop the weeks older than this.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be dropped.")] = False,
) -> None:
    """Drop the weeks of cost rows older than a period, whole partitions at a time, and the
    rejects and ledger rows older than it (docs/partitions.md)."""
    from asp_telemetry import retention

    period = retention.parse_duration(older_than)
    result = retention.retain(connection.resolve(), period, dry_run=dry_run)
    console.print(result.line(), highlight=False, soft_wrap=True)
    for partition in result.partitions:
        console.print(f"  {partition.name}: {partition.rows:,} rows", highlight=False)


@db_app.command("start")
@handle_errors
def start(
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen", envvar=embedded.LISTEN_VARIABLE, metavar="HOST:PORT",
            help="Also accept TCP connections (password logins only) on this address, e.g. 127.0.0.1:5433.",
        ),
    ] = None,
) -> None:
    """Start the embedded server (commands start it on their own when needed)."""
    address = embedded.parse_listen(listen) if listen else None
    server = embedded.start(address, exact=True)
    console.print(f"embedded PostgreSQL running: data {server.data_dir}", highlight=False, soft_wrap=True)
    console.print(f"listening: {server.describe_listening()}", highlight=False, soft_wrap=True)


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
    user: Annotated[str, typer.Argument(help="The login to create (or one that grant-login made).")],
    password_env: Annotated[
        str, typer.Option(help="Environment variable holding the password; prompted for when unset.")
    ] = "ASP_LOGIN_PASSWORD",
) -> None:
    """Make USER a login that acts as ROLE (its password is checked, SCRAM-SHA-256)."""
    password = os.environ.get(password_env) or typer.prompt(
        f"password for {user}", hide_input=True, confirmation_prompt=True
    )
    created = roles.grant_login(connection.resolve(), role, user, password)
    console.print(f"{'created' if created else 'updated'} login {user} with role {role}", highlight=False)


@db_app.command("revoke-login")
@handle_errors
def revoke_login(user: Annotated[str, typer.Argument(help="A login that grant-login made.")]) -> None:
    """Remove a login that grant-login made (and end its open sessions)."""
    roles.revoke_login(connection.resolve(), user)
    console.print(f"removed login {user}", highlight=False)


@db_app.command("logins")
@handle_errors
def logins() -> None:
    """Who can act as which access role."""
    found = roles.logins(connection.resolve())
    if not found:
        console.print("no logins yet: asp-telemetry db grant-login ROLE USER")
        return
    table = Table("login", "roles", "can log in", "made by grant-login")
    for login in found:
        table.add_row(escape(login.name), ", ".join(login.roles) or "-", "yes" if login.can_login else "no",
                      "yes" if login.managed else "no")
    console.print(table)


@app.command("env")
@handle_errors
def env() -> None:
    """Print `export PG...` lines for the database in use: eval "$(asp-telemetry env)"; dbt build."""
    print(connection.shell_exports(connection.resolve()))
