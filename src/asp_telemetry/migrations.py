"""Forward-only schema migrations: numbered SQL files in migrations/, applied in order.

Each file runs in its own transaction and is recorded with its checksum in
asp_meta.schema_migrations. A session advisory lock serialises concurrent upgrades of one
database, so two processes running `db upgrade` at once leave one consistent schema.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from asp_telemetry import paths
from asp_telemetry.connection import ConnectionInfo, connect
from asp_telemetry.errors import MigrationError

FILE_PATTERN = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
FOREIGN_KEYS_FILE = Path("optional") / "foreign_keys.sql"
# Any constant works as long as every process uses the same one: "asp_telemetry" in ASCII.
ADVISORY_LOCK_KEY = 0x6173705F74656C

BOOKKEEPING_DDL = """
create schema if not exists asp_meta;
create table if not exists asp_meta.schema_migrations (
    version int primary key,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now(),
    execution_ms int not null
);
comment on table asp_meta.schema_migrations is
    'Migrations applied by asp-telemetry db upgrade, with the sha256 of each file as applied.';
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        # Line endings are normalised so that a Windows checkout does not look "changed".
        return hashlib.sha256(self.sql.replace("\r\n", "\n").encode()).hexdigest()


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class MigrationStatus:
    version: int
    name: str
    state: str  # applied | pending | changed | missing
    applied_at: datetime | None


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or paths.migrations_dir()
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = FILE_PATTERN.match(path.name)
        if not match:
            raise MigrationError(
                f"{path}: migration files are named NNNN_lowercase_name.sql (e.g. 0003_add_x.sql)"
            )
        version = int(match["version"])
        if version in migrations:
            raise MigrationError(f"{path}: version {version:04d} is also used by {migrations[version].path.name}")
        migrations[version] = Migration(version, match["name"], path)
    return [migrations[v] for v in sorted(migrations)]


def applied(conn: psycopg.Connection) -> dict[int, AppliedMigration]:
    exists = conn.execute("select to_regclass('asp_meta.schema_migrations')").fetchone()[0]
    if exists is None:
        return {}
    rows = conn.execute("select version, name, checksum, applied_at from asp_meta.schema_migrations").fetchall()
    return {row[0]: AppliedMigration(*row) for row in rows}


def status(info: ConnectionInfo, directory: Path | None = None) -> list[MigrationStatus]:
    on_disk = {m.version: m for m in discover(directory)}
    with connect(info) as conn:
        done = applied(conn)
    result = []
    for version in sorted(on_disk.keys() | done.keys()):
        migration, record = on_disk.get(version), done.get(version)
        if record is None:
            result.append(MigrationStatus(version, migration.name, "pending", None))
        elif migration is None:
            result.append(MigrationStatus(version, record.name, "missing", record.applied_at))
        elif migration.checksum != record.checksum:
            result.append(MigrationStatus(version, migration.name, "changed", record.applied_at))
        else:
            result.append(MigrationStatus(version, migration.name, "applied", record.applied_at))
    return result


def _verify(on_disk: list[Migration], done: dict[int, AppliedMigration]) -> None:
    by_version = {m.version: m for m in on_disk}
    for version, record in sorted(done.items()):
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"migration {version:04d}_{record.name}.sql was applied to this database but is not in "
                f"{paths.migrations_dir()}: restore the file (migrations are never removed)"
            )
        if migration.checksum != record.checksum:
            raise MigrationError(
                f"{migration.path} was changed after it was applied on {record.applied_at:%Y-%m-%d %H:%M} "
                f"(checksum {record.checksum[:12]} then, {migration.checksum[:12]} now). Migrations are "
                "forward-only: restore the file and put the change in a new migration."
            )


def upgrade(
    info: ConnectionInfo,
    target: int | None = None,
    with_foreign_keys: bool = False,
    directory: Path | None = None,
    on_applied: Callable[[Migration, float], None] | None = None,
) -> list[Migration]:
    """Apply pending migrations up to `target` (all by default). Returns those applied."""
    directory = directory or paths.migrations_dir()
    on_disk = discover(directory)
    newly_applied: list[Migration] = []
    with connect(info, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        try:
            conn.execute(BOOKKEEPING_DDL)
            done = applied(conn)
            _verify(on_disk, done)
            for migration in on_disk:
                if migration.version in done or (target is not None and migration.version > target):
                    continue
                started = time.perf_counter()
                try:
                    with conn.transaction():
                        conn.execute(migration.sql)
                        elapsed_ms = int((time.perf_counter() - started) * 1000)
                        conn.execute(
                            "insert into asp_meta.schema_migrations (version, name, checksum, execution_ms)"
                            " values (%s, %s, %s, %s)",
                            [migration.version, migration.name, migration.checksum, elapsed_ms],
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"{migration.path} failed and was rolled back: {exc}") from exc
                newly_applied.append(migration)
                if on_applied:
                    on_applied(migration, elapsed_ms)
            if with_foreign_keys:
                add_foreign_keys(conn, directory)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
    return newly_applied


def add_foreign_keys(conn: psycopg.Connection, directory: Path) -> None:
    path = directory / FOREIGN_KEYS_FILE
    try:
        with conn.transaction():
            conn.execute(path.read_text(encoding="utf-8"))
    except psycopg.errors.ForeignKeyViolation as exc:
        raise MigrationError(
            f"cannot add the foreign keys: {exc.diag.message_detail or exc}. Load the missing "
            "task_metadata rows first (or leave the foreign keys off)."
        ) from exc
