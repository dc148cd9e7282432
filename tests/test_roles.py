"""Access roles: writers append, the transformer reads raw, readers see marts only."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

from asp_telemetry import connection, roles
from asp_telemetry.spec_sql import sample_data


@pytest.fixture
def loaded(db):
    with connection.connect(db) as conn:
        conn.execute("set search_path = raw")
        conn.execute(sample_data())
        conn.execute("create table marts.example as select 1 as x")
        conn.execute("grant select on marts.example to asp_reader")
    return db


def _as(conn: psycopg.Connection, role: str) -> psycopg.Connection:
    conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
    return conn


def test_roles_exist_and_cannot_log_in(loaded):
    with connection.connect(loaded) as conn:
        rows = conn.execute(
            "select rolname, rolcanlogin from pg_roles where rolname = any(%s) order by rolname",
            [list(roles.ACCESS_ROLES)],
        ).fetchall()
    assert rows == [("asp_reader", False), ("asp_transformer", False), ("asp_writer", False)]


@pytest.mark.parametrize("table", ["agent_cost_vector", "defect_log", "task_metadata", "bootstrap_metrics"])
def test_reader_cannot_read_raw(loaded, table):
    with connection.connect(loaded) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(conn, "asp_reader").execute(f"select * from raw.{table}")


def test_reader_reads_marts(loaded):
    with connection.connect(loaded) as conn:
        assert _as(conn, "asp_reader").execute("select x from marts.example").fetchone() == (1,)


@pytest.mark.parametrize("table", ["agent_cost_vector", "defect_log", "task_metadata", "bootstrap_metrics"])
def test_writer_cannot_delete_anything(loaded, table):
    with connection.connect(loaded) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(conn, "asp_writer").execute(f"delete from raw.{table}")


@pytest.mark.parametrize("table", ["agent_cost_vector", "bootstrap_metrics"])
def test_writer_cannot_update_cost_or_bootstrap_rows(loaded, table):
    column = "metric_value" if table == "agent_cost_vector" else "primary_metric_value"
    with connection.connect(loaded) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(conn, "asp_writer").execute(f"update raw.{table} set {column} = 0")


def test_writer_inserts_and_updates_tasks_and_defects(loaded):
    with connection.connect(loaded) as conn:
        _as(conn, "asp_writer")
        conn.execute(
            "insert into raw.agent_cost_vector (task_id, agent_role, metric_type, metric_value, metric_unit)"
            " values ('TASK-002', 'Code', 'Latency', 5, 'ms')"
        )
        conn.execute("update raw.task_metadata set status = 'completed' where task_id = 'TASK-001'")
        conn.execute("update raw.defect_log set resolved_at = now() where defect_id = 'D-001'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from marts.example")


def test_transformer_reads_raw_but_cannot_write_it(loaded):
    with connection.connect(loaded) as conn:
        _as(conn, "asp_transformer")
        assert conn.execute("select count(*) from raw.agent_cost_vector").fetchone() == (6,)
        conn.execute("create table marts.built_by_dbt as select 1 as y")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("insert into raw.task_metadata (task_id) values ('X')")


def test_grant_login_makes_a_member_login_and_updates_it(loaded):
    user = f"analyst_{uuid.uuid4().hex[:8]}"
    try:
        assert roles.grant_login(loaded, "asp_reader", user, "s3cret-pw") is True
        assert roles.grant_login(loaded, "asp_reader", user, "another-pw") is False
        with connection.connect(loaded) as conn:
            can_login, verifier = conn.execute(
                "select rolcanlogin, rolpassword from pg_authid where rolname = %s", [user]
            ).fetchone()
            member = conn.execute("select pg_has_role(%s, 'asp_reader', 'member')", [user]).fetchone()[0]
        assert can_login and member
        assert verifier.startswith("SCRAM-SHA-256$") and "another-pw" not in verifier
    finally:
        with connection.connect(loaded, autocommit=True) as conn:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(user)))


def test_grant_login_refuses_unknown_roles(loaded):
    with pytest.raises(ValueError, match="unknown role 'postgres'"):
        roles.grant_login(loaded, "postgres", "someone", "pw")
