"""Measurements of the partitioned cost table (migration 0011, docs/partitions.md): partition
pruning, bytes per cost row, pglz against LZ4, retention by whole partitions against a DELETE
of the same rows, and the migration's conversion of an existing table."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import sql

from asp_telemetry import connection, migrations, retention
from asp_telemetry.connection import ConnectionInfo
from bench.harness import SCRATCH_DATABASE, summary

PRUNING_GOAL_PARTITIONS = 1  # a one-week query reads one partition
RETENTION_GOAL_SPEEDUP = 1.0  # dropping partitions against deleting the same rows and vacuuming
YEAR_DATABASE = "asp_bench_year"
COMPRESSION_DATABASE = "asp_bench_compression"
# The server with LZ4 for the compression comparison (the embedded server's build has none).
LZ4_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RETENTION_ROWS_MAX = 1_000_000
CONVERSION_ROWS_MAX = 500_000

# Synthetic cost rows spread evenly over [start, start + span): `n` rows, identities included.
_SYNTHETIC_ROWS = """
    insert into raw.agent_cost_vector ("timestamp", task_id, agent_role, agent_version, metric_type,
        metric_value, metric_unit, llm_model, llm_provider, metadata, record_key)
    select %(start)s::timestamptz + %(span)s::interval * (g::float8 / %(n)s), 'BENCH-' || (g %% 20000),
           (array['Planning', 'Design', 'Code', 'Code Review', 'Test'])[1 + g %% 5], 'v1.4',
           (array['Latency', 'Tokens_In', 'Tokens_Out', 'API_Cost'])[1 + g %% 4], (g %% 5000) / 7.0,
           'tokens', 'claude-sonnet-4', 'anthropic',
           jsonb_build_object('execution_id', md5(g::text), 'source', 'bench'), gen_random_uuid()
    from generate_series(0, %(n)s - 1) g
"""


def _relations(plan: dict) -> list[str]:
    found = [plan["Relation Name"]] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += _relations(child)
    return found


def _timed(conn, query: str, repeats: int) -> list[float]:
    conn.execute(query).fetchall()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        conn.execute(query).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def measure_partitions(info: ConnectionInfo, repeats: int) -> dict[str, Any]:
    """On the main data set: a one-week query's plan (which partitions it reads) and time,
    against the same query over the whole table; bytes per cost row, table and indexes."""
    with connection.connect(info, autocommit=True) as conn:
        conn.execute("analyze raw.agent_cost_vector")
        weeks = [(name, starts, ends, conn.execute(sql.SQL("select count(*) from {}").format(
            sql.Identifier("raw", name))).fetchone()[0]) for name, starts, ends in retention.weekly_partitions(conn)]
        with_rows = [week for week in weeks if week[3] > 0]
        name, starts, ends, week_rows = max(with_rows, key=lambda week: week[3])
        aggregate = ('select agent_role, metric_type, count(*), sum(metric_value) from raw.agent_cost_vector {}'
                     ' group by agent_role, metric_type')
        where = sql.SQL('where "timestamp" >= {} and "timestamp" < {}').format(sql.Literal(starts), sql.Literal(ends))
        week_query = sql.SQL(aggregate).format(where).as_string(conn)
        all_query = sql.SQL(aggregate).format(sql.SQL("")).as_string(conn)
        plan = conn.execute(f"explain (format json) {week_query}").fetchone()[0][0]["Plan"]
        read = sorted(set(_relations(plan)))
        plan_text = [row[0] for row in conn.execute(f"explain (costs off) {week_query}").fetchall()]
        week_ms = _timed(conn, week_query, repeats)
        all_ms = _timed(conn, all_query, repeats)
        rows, table_bytes, index_bytes = (int(value) for value in conn.execute(
            "select (select count(*) from raw.agent_cost_vector), sum(pg_table_size(relid)),"
            " sum(pg_indexes_size(relid))"
            " from pg_partition_tree('raw.agent_cost_vector') where isleaf").fetchone())
        keys_rows, keys_bytes = conn.execute(
            "select count(*), pg_total_relation_size('raw.cost_record_keys') from raw.cost_record_keys").fetchone()
        metadata_bytes = conn.execute(
            "select avg(pg_column_size(metadata)) from raw.agent_cost_vector").fetchone()[0]
    return {
        "pruning": {
            "query": " ".join(week_query.split()),
            "week": {"partition": name, "starts": starts.isoformat(), "ends": ends.isoformat(), "rows": week_rows},
            "partitions": len(weeks),
            "partitions_with_rows": len(with_rows),
            "partitions_read": read,
            "plan": plan_text,
            "week_ms": summary(week_ms),
            "whole_table_ms": summary(all_ms),
            "ratio": round(statistics.median(week_ms) / statistics.median(all_ms), 3),
            "goal": "a one-week query reads only that week's partition",
            "met": len(read) == PRUNING_GOAL_PARTITIONS,
        },
        "bytes": {
            "rows": rows,
            "table_bytes_per_row": round(table_bytes / rows, 1),
            "index_bytes_per_row": round(index_bytes / rows, 1),
            "identity_bytes_per_row": round(keys_bytes / keys_rows, 1) if keys_rows else None,
            "metadata_bytes_per_row": round(float(metadata_bytes), 1),
        },
    }


def _text_columns(conn, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a"
        " where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''"
        " and a.atttypid in ('text'::regtype, 'jsonb'::regtype, 'varchar'::regtype, 'json'::regtype)"
        " order by a.attnum", [f"raw.{table}"]).fetchall()


def measure_compression(info: ConnectionInfo) -> dict[str, Any]:
    """The text and JSON columns of the cost and task tables, copied from the main data set
    into two tables on a server with LZ4 (the PG15 at 127.0.0.1:5432), one compressed with
    pglz, one with LZ4: bytes per row of the table and of each column as stored, and how many
    values were compressed at all (PostgreSQL compresses a value only when its row exceeds
    about 2 kB)."""
    lz4_admin = connection.from_url(LZ4_SERVER_URL)
    with connection.connect(lz4_admin, autocommit=True) as conn:
        has_lz4 = conn.execute("select 'lz4' = any(enumvals) from pg_settings"
                               " where name = 'default_toast_compression'").fetchone()[0]
        version = conn.execute("show server_version").fetchone()[0]
        if not has_lz4:
            return {"server": f"PostgreSQL {version}", "available": False}
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(COMPRESSION_DATABASE)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(COMPRESSION_DATABASE)))
    target = lz4_admin.with_database(COMPRESSION_DATABASE)
    tables: dict[str, Any] = {}
    try:
        with connection.connect(info) as source, connection.connect(target, autocommit=True) as sink:
            for table in ("agent_cost_vector", "task_metadata"):
                columns = _text_columns(source, table)
                names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
                results = {}
                for method in ("pglz", "lz4"):
                    copy_table = sql.Identifier(f"{table}_{method}")
                    definition = sql.SQL(", ").join(
                        sql.SQL("{} {} compression {}").format(sql.Identifier(name), sql.SQL(kind), sql.SQL(method))
                        for name, kind in columns)
                    sink.execute(sql.SQL("create table {} ({})").format(copy_table, definition))
                    with source.cursor().copy(sql.SQL("copy (select {} from {}) to stdout (format binary)").format(
                            names, sql.Identifier("raw", table))) as out, \
                            sink.cursor().copy(sql.SQL("copy {} ({}) from stdin (format binary)").format(
                                copy_table, names)) as into:
                        for chunk in out:
                            into.write(chunk)
                    sink.execute(sql.SQL("vacuum analyze {}").format(copy_table))
                    rows, total = sink.execute(sql.SQL("select count(*), pg_total_relation_size({}::regclass) from {}")
                                               .format(sql.Literal(f"{table}_{method}"), copy_table)).fetchone()
                    per_column = {}
                    for name, _ in columns:
                        stored, compressed = sink.execute(sql.SQL(
                            "select avg(pg_column_size({0})), count(*) filter (where pg_column_compression({0})"
                            " is not null) from {1}").format(sql.Identifier(name), copy_table)).fetchone()
                        per_column[name] = {"bytes_per_row": round(float(stored or 0), 1),
                                            "compressed_values": compressed}
                    results[method] = {"rows": rows, "bytes_per_row": round(total / rows, 1) if rows else None,
                                       "columns": per_column}
                tables[table] = results
    finally:
        with connection.connect(lz4_admin, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(COMPRESSION_DATABASE)))
    return {"server": f"PostgreSQL {version}", "available": True, "tables": tables}


def _admin_execute(admin: ConnectionInfo, statement: sql.Composable) -> None:
    with connection.connect(admin, autocommit=True) as conn:
        conn.execute(statement)


def measure_retention(databases: Any, cost_rows: int) -> dict[str, Any]:
    """A year of cost rows (as many as the main data set has, at most a million) in weekly
    partitions of a scratch database, copied once: `retain` 7 days (every week older than
    that, whole partitions; its --dry-run first, timed too) in one copy, a DELETE of the same
    rows and their identities in the other, then the VACUUM that makes their space reusable
    (dropping a partition returns its space at once)."""
    rows = max(10_000, min(cost_rows, RETENTION_ROWS_MAX))
    now = datetime.now(UTC)
    year = databases.fresh(YEAR_DATABASE)
    started = time.perf_counter()
    with connection.connect(year, autocommit=True) as conn:
        conn.execute("select raw.ensure_cost_partitions(%s, %s)", [now - timedelta(days=365), now])
        conn.execute(_SYNTHETIC_ROWS, {"start": now - timedelta(days=365), "span": "365 days", "n": rows})
        conn.execute("insert into raw.cost_record_keys select record_key, \"timestamp\" from raw.agent_cost_vector")
        conn.execute("vacuum analyze")
    filled = time.perf_counter() - started
    _admin_execute(databases.admin, sql.SQL("drop database if exists {} with (force)").format(
        sql.Identifier(SCRATCH_DATABASE)))
    _admin_execute(databases.admin, sql.SQL("create database {} template {}").format(
        sql.Identifier(SCRATCH_DATABASE), sql.Identifier(YEAR_DATABASE)))
    scratch = databases.admin.with_database(SCRATCH_DATABASE)
    try:
        started = time.perf_counter()
        retention.retain(year, timedelta(days=7), dry_run=True, now=now)
        dry_run_seconds = time.perf_counter() - started
        started = time.perf_counter()
        result = retention.retain(year, timedelta(days=7), now=now)
        drop_seconds = time.perf_counter() - started
        last_end = max(p.ends for p in result.partitions)
        started = time.perf_counter()
        with connection.connect(scratch) as conn, conn.transaction():
            deleted = conn.execute('delete from raw.agent_cost_vector where "timestamp" < %s', [last_end]).rowcount
            conn.execute('delete from raw.cost_record_keys where "timestamp" < %s', [last_end])
        delete_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with connection.connect(scratch, autocommit=True) as conn:
            conn.execute("vacuum raw.agent_cost_vector, raw.cost_record_keys")
        vacuum_seconds = time.perf_counter() - started
    finally:
        databases.drop(SCRATCH_DATABASE)
        databases.drop(YEAR_DATABASE)
    speedup = (delete_seconds + vacuum_seconds) / drop_seconds
    return {
        "rows": rows,
        "fill_seconds": round(filled, 1),
        "weeks_dropped": len(result.partitions),
        "rows_dropped": result.rows,
        "identities_removed": result.identities,
        "drop_seconds": round(drop_seconds, 3),
        # `--dry-run`: finding the weeks and counting their rows, what retain does before dropping
        "dry_run_seconds": round(dry_run_seconds, 3),
        "delete_rows": deleted,
        "delete_seconds": round(delete_seconds, 3),
        "vacuum_seconds": round(vacuum_seconds, 3),
        "speedup": round(speedup, 2),
        "goal": "dropping a year of weeks faster than deleting its rows and vacuuming them "
                f"(at least {RETENTION_GOAL_SPEEDUP:g}x)",
        "met": speedup >= RETENTION_GOAL_SPEEDUP and deleted == result.rows,
    }


def measure_conversion(databases: Any, cost_rows: int) -> dict[str, Any]:
    """Migration 0011 on a table of 0010 holding cost rows spread over 28 days (as many as the
    main data set, at most 500,000): its wall time, rows per second, seconds per million."""
    rows = max(10_000, min(cost_rows, CONVERSION_ROWS_MAX))
    admin = databases.admin
    _admin_execute(admin, sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(SCRATCH_DATABASE)))
    connection.ensure_database(admin, SCRATCH_DATABASE)
    info = admin.with_database(SCRATCH_DATABASE)
    try:
        migrations.upgrade(info, target=10)
        now = datetime.now(UTC)
        with connection.connect(info, autocommit=True) as conn:
            conn.execute(_SYNTHETIC_ROWS, {"start": now - timedelta(days=28), "span": "28 days", "n": rows})
            conn.execute("vacuum analyze raw.agent_cost_vector")
        started = time.perf_counter()
        migrations.upgrade(info, target=11)
        seconds = time.perf_counter() - started
        with connection.connect(info) as conn:
            moved = conn.execute("select count(*) from raw.agent_cost_vector").fetchone()[0]
            keys = conn.execute("select count(*) from raw.cost_record_keys").fetchone()[0]
    finally:
        databases.drop(SCRATCH_DATABASE)
    if moved != rows or keys != rows:
        raise RuntimeError(f"migration 0011 kept {moved:,} rows and {keys:,} identities of {rows:,}")
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "seconds_per_million": round(seconds / rows * 1_000_000, 1),
    }
