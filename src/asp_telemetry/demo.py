"""`asp-telemetry demo`: bring the database up, apply the schema, load the specification's
sample rows once, and answer its five analytics queries."""

from __future__ import annotations

from dataclasses import dataclass

from asp_telemetry import connection, migrations, spec_sql
from asp_telemetry.connection import ConnectionInfo


@dataclass(frozen=True)
class QueryResult:
    query: spec_sql.SpecQuery
    columns: list[str]
    rows: list[tuple]


def prepare_database() -> ConnectionInfo:
    info = connection.resolve()
    migrations.upgrade(info)
    return info


def load_spec_samples(info: ConnectionInfo) -> bool:
    """Insert the specification's sample rows unless they are there already."""
    with connection.connect(info) as conn:
        conn.execute("set local search_path = raw")
        if conn.execute("select 1 from defect_log where defect_id = 'D-001'").fetchone():
            return False
        conn.execute(spec_sql.sample_data())
    return True


def run_spec_queries(info: ConnectionInfo) -> list[QueryResult]:
    results = []
    with connection.connect(info) as conn:
        conn.execute("set local search_path = raw")
        for query in spec_sql.queries():
            cursor = conn.execute(query.sql)
            columns = [column.name for column in cursor.description]
            results.append(QueryResult(query, columns, cursor.fetchall()))
    return results
