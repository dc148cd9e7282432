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
    with pytest.raises(roles.LoginError, match="unknown role 'postgres'"):
        roles.grant_login(loaded, "postgres", "someone", "pw")


# --- grant-login changes only the logins it made -----------------------------------------
def _role_state(info, user: str):
    """Everything grant-login could change about a role."""
    with connection.connect(info) as conn:
        return conn.execute(
            "select r.rolsuper, r.rolcanlogin, a.rolpassword, shobj_description(r.oid, 'pg_authid'),"
            " array(select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
            "       where m.member = r.oid order by 1)"
            " from pg_roles r join pg_authid a on a.oid = r.oid where r.rolname = %s",
            [user],
        ).fetchone()


@pytest.fixture
def made_login(db):
    user = f"made_{uuid.uuid4().hex[:8]}"
    roles.grant_login(db, "asp_writer", user, "first-pw")
    yield user
    with connection.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(user)))


@pytest.fixture
def foreign_role(db):
    """A login someone made by hand, with a password grant-login must not replace."""
    user = f"foreign_{uuid.uuid4().hex[:8]}"
    with connection.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login password 'theirs'").format(sql.Identifier(user)))
    yield user
    with connection.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(user)))


@pytest.mark.parametrize(("user", "reason"), [
    ("postgres", "is a superuser"),
    ("asp_writer", "is one of the access roles"),
    ("asp_transformer", "is one of the access roles"),
    ("asp_reader", "is one of the access roles"),
    ("pg_monitor", "reserved for PostgreSQL's own roles"),
    ("pg_read_all_data", "reserved for PostgreSQL's own roles"),
    ("bad name; drop role x", "is not a login name"),
    ("x" * 64, "is not a login name"),
])
@pytest.mark.parametrize("role", roles.ACCESS_ROLES)
def test_grant_login_refuses_superusers_group_and_system_roles_and_changes_nothing(db, role, user, reason):
    before = _role_state(db, user)
    with pytest.raises(roles.LoginError, match=reason):
        roles.grant_login(db, role, user, "attacker-pw")
    assert _role_state(db, user) == before


def test_grant_login_refuses_a_role_it_did_not_make(db, foreign_role):
    before = _role_state(db, foreign_role)
    with pytest.raises(roles.LoginError, match="was not made by asp-telemetry db grant-login"):
        roles.grant_login(db, "asp_reader", foreign_role, "attacker-pw")
    assert _role_state(db, foreign_role) == before


def test_grant_login_adds_a_role_to_a_login_it_made(db, made_login):
    assert roles.grant_login(db, "asp_reader", made_login, "second-pw") is False
    superuser, can_login, verifier, marker, member_of = _role_state(db, made_login)
    assert (superuser, can_login, marker) == (False, True, roles.LOGIN_MARKER)
    assert member_of == ["asp_reader", "asp_writer"] and verifier.startswith("SCRAM-SHA-256$")


def test_grant_login_is_one_transaction_nothing_changes_when_a_step_fails(db, made_login):
    # a cycle makes the last step (the GRANT) fail after the password was set
    with connection.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("grant {} to asp_reader").format(sql.Identifier(made_login)))
    before = _role_state(db, made_login)
    with pytest.raises(psycopg.errors.InvalidGrantOperation):
        roles.grant_login(db, "asp_reader", made_login, "new-pw")
    assert _role_state(db, made_login) == before
    with connection.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("revoke {} from asp_reader").format(sql.Identifier(made_login)))


def test_revoke_login_removes_a_login_it_made(db, made_login):
    roles.revoke_login(db, made_login)
    assert _role_state(db, made_login) is None
    with pytest.raises(roles.LoginError, match="there is no login"):
        roles.revoke_login(db, made_login)


@pytest.mark.parametrize("user", ["postgres", "asp_writer", "asp_reader", "asp_transformer", "pg_monitor"])
def test_revoke_login_refuses_superusers_group_and_system_roles(db, user):
    before = _role_state(db, user)
    with pytest.raises(roles.LoginError):
        roles.revoke_login(db, user)
    assert _role_state(db, user) == before


def test_revoke_login_refuses_a_role_it_did_not_make(db, foreign_role):
    with pytest.raises(roles.LoginError, match="was not made by asp-telemetry"):
        roles.revoke_login(db, foreign_role)
    assert _role_state(db, foreign_role) is not None


def test_logins_lists_who_has_which_role(db, made_login, foreign_role):
    roles.grant_login(db, "asp_reader", made_login, "pw")
    with connection.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("grant asp_transformer to {}").format(sql.Identifier(foreign_role)))
    found = {login.name: login for login in roles.logins(db)}
    assert found[made_login].roles == ["asp_reader", "asp_writer"] and found[made_login].managed
    assert found[foreign_role].roles == ["asp_transformer"] and not found[foreign_role].managed
    assert not set(roles.ACCESS_ROLES) & set(found)


def test_grant_login_leaves_alone_a_login_given_other_powers_since(db, made_login):
    with connection.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("alter role {} createdb").format(sql.Identifier(made_login)))
    before = _role_state(db, made_login)
    with pytest.raises(roles.LoginError, match="was given CREATEROLE, CREATEDB"):
        roles.grant_login(db, "asp_reader", made_login, "pw")
    assert _role_state(db, made_login) == before
