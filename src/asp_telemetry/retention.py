"""Retention: drop the weeks of cost rows older than a period, whole partitions at a time.

raw.agent_cost_vector is partitioned by week (migration 0011). `retain(info, "90d")` detaches
and drops every weekly partition that ends at or before now minus the period, removes the
identities of the rows it dropped (raw.cost_record_keys), the rows of the default partition
older than the cut-off, and the rejects and finished ledger rows older than it. It never
deletes cost rows one by one from a weekly partition: a partition that straddles the cut-off
is kept whole until it is entirely older. The marts are not touched: incremental facts keep
what they computed from the dropped weeks until a full refresh (docs/partitions.md).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

from psycopg import sql
from pydantic import BaseModel

from asp_telemetry import connection
from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.errors import InvalidInput

# The policy the scheduled `retention` flow applies (a duration; unset: keep everything).
POLICY_VARIABLE = "ASP_RETENTION"
PARTITION_NAME = re.compile(r"agent_cost_vector_(\d{8})")
_DURATION = re.compile(r"\s*(\d+)\s*([dwy])\s*")
_UNIT_DAYS = {"d": 1, "w": 7, "y": 365}
# Partitions the retention flow keeps made ahead of the data.
WEEKS_AHEAD = 4


def parse_duration(text: str) -> timedelta:
    """'30d', '12w', '1y' (a year is 365 days) -> the period; InvalidInput otherwise."""
    match = _DURATION.fullmatch(text or "")
    if not match or int(match.group(1)) == 0:
        raise InvalidInput(f"not a retention period: {text!r} (a whole number of days, weeks or years: 30d, 12w, 1y)")
    days = int(match.group(1)) * _UNIT_DAYS[match.group(2)]
    if days > 365 * 1000:
        raise InvalidInput(f"retention period too long: {text!r} (at most 1000y)")
    return timedelta(days=days)


def configured_policy() -> str | None:
    """The retention period configured for the scheduled flow ($ASP_RETENTION), as written."""
    return os.environ.get(POLICY_VARIABLE) or None


class DroppedPartition(BaseModel):
    name: str
    starts: datetime
    ends: datetime
    rows: int


class RetentionResult(BaseModel):
    cutoff: datetime
    dry_run: bool
    partitions: list[DroppedPartition] = []
    default_rows: int = 0  # rows of the default partition older than the cut-off
    identities: int = 0  # of dropped rows, removed from raw.cost_record_keys
    rejects: int = 0
    loads: int = 0

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions) + self.default_rows

    def line(self) -> str:
        verb = "would drop" if self.dry_run else "dropped"
        weeks = len(self.partitions)
        return (f"{verb} {weeks} week{'s' * (weeks != 1)} of cost rows before {self.cutoff:%Y-%m-%d %H:%M} UTC"
                f" ({self.rows:,} rows), {self.rejects:,} rejects and {self.loads:,} ledger rows")


def weekly_partitions(conn) -> list[tuple[str, datetime, datetime]]:
    """(name, start, end) of every weekly partition of raw.agent_cost_vector, oldest first."""
    names = conn.execute(
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
        " where i.inhparent = 'raw.agent_cost_vector'::regclass order by c.relname"
    ).fetchall()
    weeks = []
    for (name,) in names:
        match = PARTITION_NAME.fullmatch(name)
        if match:
            start = datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC)
            weeks.append((name, start, start + timedelta(days=7)))
    return weeks


def retain(info: ConnectionInfo, older_than: timedelta, dry_run: bool = False,
           now: datetime | None = None) -> RetentionResult:
    """Drop what is older than `older_than` (see the module's docstring); with dry_run,
    only say what would go."""
    cutoff = (now or datetime.now(UTC)) - older_than
    result = RetentionResult(cutoff=cutoff, dry_run=dry_run)
    with connection.connect(info) as conn, conn.transaction():
        for name, starts, ends in weekly_partitions(conn):
            if ends > cutoff:
                continue
            table = sql.Identifier("raw", name)
            rows = conn.execute(sql.SQL("select count(*) from {}").format(table)).fetchone()[0]
            result.partitions.append(DroppedPartition(name=name, starts=starts, ends=ends, rows=rows))
            if dry_run:
                continue
            conn.execute(sql.SQL("alter table raw.agent_cost_vector detach partition {}").format(table))
            conn.execute(sql.SQL("drop table {}").format(table))
            result.identities += conn.execute(
                'delete from raw.cost_record_keys where "timestamp" >= %s and "timestamp" < %s', [starts, ends]
            ).rowcount
        older = {"cutoff": cutoff}
        if dry_run:
            result.default_rows = conn.execute(
                'select count(*) from raw.agent_cost_vector_default where "timestamp" < %(cutoff)s', older
            ).fetchone()[0]
            result.rejects = conn.execute(
                "select count(*) from raw.rejected_records where rejected_at < %(cutoff)s", older).fetchone()[0]
            result.loads = conn.execute(
                "select count(*) from raw.loads where finished_at < %(cutoff)s and status <> 'running'",
                older).fetchone()[0]
            return result
        default_rows, keys = conn.execute(
            'with gone as (delete from raw.agent_cost_vector_default where "timestamp" < %(cutoff)s'
            " returning record_key),"
            " forgotten as (delete from raw.cost_record_keys k using gone where k.record_key = gone.record_key"
            " returning 1)"
            " select (select count(*) from gone), (select count(*) from forgotten)", older).fetchone()
        result.default_rows, result.identities = default_rows, result.identities + keys
        result.rejects = conn.execute(
            "delete from raw.rejected_records where rejected_at < %(cutoff)s", older).rowcount
        result.loads = conn.execute(
            "delete from raw.loads where finished_at < %(cutoff)s and status <> 'running'", older).rowcount
    return result


def make_partitions_ahead(info: ConnectionInfo, weeks: int = WEEKS_AHEAD) -> int:
    """Make the weekly partitions of this week and the next `weeks`; returns how many were new."""
    with connection.connect(info) as conn, conn.transaction():
        return conn.execute(
            "select raw.ensure_cost_partitions(now(), now() + make_interval(weeks => %s))", [weeks]
        ).fetchone()[0]


def default_partition_rows(info: ConnectionInfo) -> int:
    """Cost rows in the default partition: outside the range partitions are made for."""
    with connection.connect(info) as conn:
        return conn.execute("select count(*) from raw.agent_cost_vector_default").fetchone()[0]
