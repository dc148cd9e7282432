"""Least privilege, claim by claim, as the role itself: every statement runs on a connection of
a login made with `grant-login`, with its password, on the test server (the embedded one, or
ASP_TEST_DATABASE_URL). The marts were built by the database's owner and rebuilt by a
transformer login, as happens when two people share a deployment."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr
from support import PROJECT_DIR

from asp_telemetry import build, connection, roles
from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.loading import ledger
from asp_telemetry.spec_sql import sample_data

PASSWORD = f"pw {uuid.uuid4().hex[:8]} %@:/'\""
MARTS = sorted(path.stem for path in (PROJECT_DIR / "models" / "marts").rglob("*.sql"))
RAW_TABLES = ["agent_cost_vector", "defect_log", "task_metadata", "bootstrap_metrics", "loads", "rejected_records"]
DBT_SCHEMAS = ("staging", "intermediate", "marts")


def _relations(info: ConnectionInfo) -> list[tuple[str, str, str]]:
    with connection.connect(info) as conn:
        return conn.execute(
            "select n.nspname, c.relname, pg_get_userbyid(c.relowner) from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v', 'm') order by 1, 2",
            [list(DBT_SCHEMAS)],
        ).fetchall()


@pytest.fixture(scope="module")
def deployment(make_database, tmp_path_factory):
    info = make_database("asp_priv")
    with connection.connect(info) as conn:
        conn.execute("set local search_path = raw")
        conn.execute(sample_data())
    logins = {role: f"{role.removeprefix('asp_')}_{uuid.uuid4().hex[:8]}" for role in roles.ACCESS_ROLES}
    for role, user in logins.items():
        roles.grant_login(info, role, user, PASSWORD)
    as_login = {role: info.model_copy(update={"user": user, "password": SecretStr(PASSWORD)})
                for role, user in logins.items()}
    target = str(tmp_path_factory.mktemp("priv-target"))
    arguments = ["--target-path", target, "--exclude-resource-type", "unit_test"]
    by_owner = build.run_build(info, arguments)
    assert by_owner.success, by_owner.summary_line()
    owned_after_owner_build = _relations(info)
    by_transformer_login = build.run_build(as_login["asp_transformer"], arguments)
    try:
        yield {"owner": info, "logins": logins, "as": as_login, "target": target,
               "owned_after_owner_build": owned_after_owner_build, "rebuild": by_transformer_login}
    finally:
        for user in logins.values():
            roles.revoke_login(info, user)


def _connect_as(deployment, role: str) -> psycopg.Connection:
    return connection.connect(deployment["as"][role])


def _allowed(conn: psycopg.Connection, statement: str) -> bool:
    """Whether `statement` runs (it is rolled back either way); only a privilege error is a no."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement)
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


def test_a_transformer_login_rebuilds_what_the_owner_built(deployment):
    rebuild = deployment["rebuild"]
    assert rebuild.success, [(n.label, n.message) for n in rebuild.failed_nodes] or rebuild.error
    assert {n.resource_type for n in rebuild.nodes} >= {"seed", "model", "test"}


def test_every_object_dbt_creates_belongs_to_asp_transformer_whoever_built_it(deployment):
    for owned in (deployment["owned_after_owner_build"], _relations(deployment["owner"])):
        assert {name for _, name, _ in owned} >= set(MARTS)
        assert {owner for _, _, owner in owned} == {"asp_transformer"}, owned


@pytest.mark.parametrize("mart", MARTS)
def test_readers_keep_their_grant_on_every_mart_after_a_rebuild(deployment, mart):
    with _connect_as(deployment, "asp_reader") as conn:
        conn.execute(sql.SQL("select * from marts.{} limit 1").format(sql.Identifier(mart)))


# (role, statement, allowed): each claim of docs/operations.md "Roles and logins"
CLAIMS = [
    # asp_reader: the marts, read-only; nothing else
    *[("asp_reader", f"select * from raw.{table}", False) for table in RAW_TABLES],
    ("asp_reader", "select * from staging.stg_asp__task_metadata", False),
    ("asp_reader", "select * from staging.agent_roles", False),
    ("asp_reader", "select * from intermediate.int_agent_executions", False),
    ("asp_reader", "select * from asp_meta.schema_migrations", False),
    ("asp_reader", "select raw.interrupt_abandoned_loads()", False),
    ("asp_reader", "insert into marts.mart_phase_yield select * from marts.mart_phase_yield", False),
    ("asp_reader", "update marts.fct_task_costs set status = status", False),
    ("asp_reader", "delete from marts.fct_defects", False),
    ("asp_reader", "truncate marts.fct_defects", False),
    ("asp_reader", "alter table marts.fct_defects add column x int", False),
    ("asp_reader", "drop table marts.fct_defects", False),
    ("asp_reader", "drop schema marts cascade", False),
    ("asp_reader", "create table marts.mine (a int)", False),
    ("asp_reader", "create table public.mine (a int)", False),
    ("asp_reader", "create temporary table mine (a int)", False),
    ("asp_reader", "create schema mine", False),
    # asp_writer: appends raw rows, merges tasks and defects, closes its own loads
    ("asp_writer", "insert into raw.agent_cost_vector (task_id, agent_role, metric_type, metric_value, metric_unit)"
                   " values ('T-W', 'Code', 'Latency', 5, 'ms')", True),
    ("asp_writer", "insert into raw.task_metadata (task_id) values ('T-W')", True),
    ("asp_writer", "insert into raw.defect_log (defect_id, task_id, defect_type, phase_injected, phase_removed,"
                   " description) values ('D-W', 'T-W', '4_Hallucination', 'Code', 'Test', 'x')", True),
    ("asp_writer", "insert into raw.bootstrap_metrics (measurement_period_start, measurement_period_end,"
                   " capability_name, capability_mode, tasks_completed, tasks_required_for_graduation,"
                   " primary_metric_name, primary_metric_value, primary_metric_target)"
                   " values (now(), now(), 'PROBE_AI', 'Learning', 1, 2, 'MAPE', 1, 2)", True),
    ("asp_writer", "insert into raw.loads (source) values ('mine')", True),
    ("asp_writer", "insert into raw.rejected_records (source, position, reason, original_text, reject_key)"
                   " values ('x', 'line 1', 'bad', 'x', gen_random_uuid())", True),
    ("asp_writer", "insert into raw.rejected_records (source, position, reason, original_text, original_bytes,"
                   " reject_key) values ('x', 'line 1', 'bad', '\\xff', '\\xff'::bytea, gen_random_uuid())", True),
    ("asp_writer", "update raw.rejected_records set original_bytes = null", False),
    ("asp_writer", "update raw.loads set status = 'interrupted', error = 'lost' where loaded_by = current_user", True),
    ("asp_writer", "select raw.interrupt_abandoned_loads()", True),  # dead loads of any login (below)
    ("asp_writer", "create or replace function raw.interrupt_abandoned_loads() returns integer"
                   " language sql as 'select 0'", False),
    ("asp_writer", "alter function raw.interrupt_abandoned_loads() owner to current_user", False),
    ("asp_writer", "update raw.task_metadata set status = 'completed', actual_complexity = 3,"
                   " completed_at = now() where task_id = 'TASK-001'", True),
    ("asp_writer", "update raw.task_metadata set task_id = 'OTHER' where task_id = 'TASK-001'", False),
    ("asp_writer", "update raw.task_metadata set loaded_at = now()", False),
    ("asp_writer", "update raw.task_metadata set updated_at = now()", False),
    ("asp_writer", "update raw.defect_log set resolved_at = now(), resolution_notes = 'fixed',"
                   " false_positive = false where defect_id = 'D-001'", True),
    ("asp_writer", "update raw.defect_log set defect_type = '1_Logic_Error'", False),
    ("asp_writer", "update raw.defect_log set phase_injected = 'Planning'", False),
    ("asp_writer", "update raw.defect_log set description = 'rewritten'", False),
    ("asp_writer", "update raw.agent_cost_vector set metric_value = 0", False),
    ("asp_writer", "update raw.bootstrap_metrics set primary_metric_value = 0", False),
    ("asp_writer", "update raw.rejected_records set reason = ''", False),
    ("asp_writer", "update raw.loads set loaded_by = current_user", False),
    ("asp_writer", "insert into raw.loads (source, loaded_by) values ('in another name', 'postgres')", False),
    *[("asp_writer", f"delete from raw.{table}", False) for table in RAW_TABLES],
    *[("asp_writer", f"truncate raw.{table}", False) for table in RAW_TABLES],
    ("asp_writer", "drop table raw.agent_cost_vector", False),
    ("asp_writer", "alter table raw.task_metadata add column x int", False),
    ("asp_writer", "create table raw.mine (a int)", False),
    ("asp_writer", "create table marts.mine (a int)", False),
    ("asp_writer", "create temporary table mine (a int)", True),  # the loader stages its COPYs
    ("asp_writer", "select * from marts.fct_task_costs", False),
    ("asp_writer", "select * from staging.stg_asp__task_metadata", False),
    ("asp_writer", "drop table marts.fct_defects", False),
    ("asp_writer", "select * from asp_meta.schema_migrations", False),
    # the collector checks ingest tokens as a writer; only the owner creates and revokes them
    ("asp_writer", "select name, token_sha256 from raw.ingest_tokens where revoked_at is null", True),
    ("asp_writer", "insert into raw.ingest_tokens (name, token_sha256) values ('mine', repeat('a', 64))", False),
    ("asp_writer", "update raw.ingest_tokens set revoked_at = null", False),
    ("asp_writer", "delete from raw.ingest_tokens", False),
    ("asp_writer", "update raw.loads set ingest_token = 'x' where loaded_by = current_user", True),
    ("asp_transformer", "select * from raw.ingest_tokens", False),
    ("asp_reader", "select * from raw.ingest_tokens", False),
    # asp_transformer: reads raw, owns what dbt builds, writes nothing raw
    *[("asp_transformer", f"select * from raw.{table}", True) for table in RAW_TABLES],
    ("asp_transformer", "insert into raw.task_metadata (task_id) values ('T-X')", False),
    ("asp_transformer", "update raw.task_metadata set status = 'failed'", False),
    ("asp_transformer", "delete from raw.agent_cost_vector", False),
    ("asp_transformer", "truncate raw.task_metadata", False),
    ("asp_transformer", "drop table raw.agent_cost_vector", False),
    ("asp_transformer", "update raw.loads set status = 'failed'", False),
    ("asp_transformer", "update raw.loads set error = 'x'", False),
    ("asp_transformer", "select raw.interrupt_abandoned_loads()", False),
    ("asp_transformer", "create table raw.mine (a int)", False),
    ("asp_transformer", "create table marts.mine (a int)", True),
    ("asp_transformer", "create table staging.mine (a int)", True),
    ("asp_transformer", "drop table marts.fct_defects", True),
    ("asp_transformer", "create temporary table mine (a int)", True),  # dbt's incremental merges
    ("asp_transformer", "select * from asp_meta.schema_migrations", False),
    ("asp_transformer", "create schema mine", False),
    # the change log of planned builds (migration 0010): writes note changes through triggers only
    ("asp_writer", "insert into raw.table_changes (table_name) values ('task_metadata')", False),
    ("asp_writer", "delete from raw.table_changes", False),
    ("asp_writer", "insert into raw.builds (project_digest, started_at, selection) values ('x', now(), 'all')", False),
    ("asp_writer", "select raw.note_table_change()", False),
    ("asp_transformer", "select * from raw.table_changes", True),
    ("asp_transformer", "delete from raw.table_changes", True),
    ("asp_transformer", "insert into raw.builds (project_digest, started_at, selection) values ('x', now(), 'all')",
     True),
    ("asp_transformer", "insert into raw.table_changes (table_name) values ('task_metadata')", False),
    ("asp_transformer", "update raw.builds set selection = 'none'", False),
    ("asp_reader", "select * from raw.table_changes", False),
]


@pytest.mark.parametrize(("role", "statement", "allowed"), CLAIMS,
                         ids=[f"{role}-{'may' if ok else 'may-not'}: {stmt[:60]}" for role, stmt, ok in CLAIMS])
def test_each_role_may_do_its_job_and_nothing_more(deployment, role, statement, allowed):
    with _connect_as(deployment, role) as conn:
        assert conn.execute("select current_user").fetchone()[0] == deployment["logins"][role]
        assert _allowed(conn, statement) is allowed


def test_a_writer_closes_only_its_own_loads(deployment):
    with connection.connect(deployment["owner"]) as conn:
        others = conn.execute("insert into raw.loads (source, loaded_by) values ('by another', 'someone_else')"
                              " returning load_id").fetchone()[0]
    with _connect_as(deployment, "asp_writer") as conn:
        own = conn.execute("insert into raw.loads (source) values ('mine') returning load_id, loaded_by").fetchone()
        assert own[1] == deployment["logins"]["asp_writer"]
        # every load is visible (a file seen before is recognised)...
        assert conn.execute("select count(*) from raw.loads where load_id = %s", [others]).fetchone()[0] == 1
        # ...but only its own can be closed
        closed = conn.execute("update raw.loads set status = 'complete', error = 'none' where load_id = any(%s)",
                              [[own[0], others]]).rowcount
    assert closed == 1
    with connection.connect(deployment["owner"]) as conn:
        statuses = dict(conn.execute("select load_id, status from raw.loads where load_id = any(%s)",
                                     [[own[0], others]]).fetchall())
    assert statuses == {own[0]: "complete", others: "running"}


def test_a_writer_marks_any_dead_load_interrupted_through_one_function_only(deployment):
    """raw.interrupt_abandoned_loads() runs as the owner of raw.loads: no argument, a pinned
    search_path, one fixed statement (no dynamic SQL), executable by asp_writer only."""
    with connection.connect(deployment["owner"]) as conn:
        definition = conn.execute(
            "select p.prosecdef, p.proconfig, p.pronargs, pg_get_userbyid(p.proowner) = t.tableowner, p.prosrc"
            " from pg_proc p, pg_tables t where p.oid = 'raw.interrupt_abandoned_loads()'::regprocedure"
            " and (t.schemaname, t.tablename) = ('raw', 'loads')").fetchone()
        dead, alive = (conn.execute("insert into raw.loads (source, loaded_by) values (%s, 'someone_else')"
                                    " returning load_id", [source]).fetchone()[0] for source in ("dead", "alive"))
        conn.commit()
        conn.execute("select pg_advisory_lock(%s, %s)", [ledger.LEDGER_LOCK_CLASS, alive])  # a live load
        with _connect_as(deployment, "asp_writer") as writer:
            assert writer.execute("select raw.interrupt_abandoned_loads()").fetchone()[0] >= 1
        statuses = dict(conn.execute("select load_id, status from raw.loads where load_id = any(%s)",
                                     [[dead, alive]]).fetchall())
        executors = conn.execute(
            "select r.rolname from pg_roles r where has_function_privilege(r.oid,"
            " 'raw.interrupt_abandoned_loads()', 'execute') and not r.rolsuper and r.rolname = any(%s)",
            [[*roles.ACCESS_ROLES, *deployment["logins"].values()]]).fetchall()
    assert definition[:4] == (True, ["search_path=pg_catalog, pg_temp"], 0, True)
    assert "execute" not in definition[4].lower()
    assert statuses == {dead: "interrupted", alive: "running"}
    assert sorted(name for (name,) in executors) == sorted(["asp_writer", deployment["logins"]["asp_writer"]])


def test_only_members_of_the_access_roles_connect_to_the_database(deployment):
    outsider = f"outsider_{uuid.uuid4().hex[:8]}"
    with connection.connect(deployment["owner"], autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login password {}").format(
            sql.Identifier(outsider), sql.Literal(PASSWORD)))
    try:
        with pytest.raises(connection.DatabaseUnavailable, match="permission denied for database"):
            connection.connect(
                deployment["owner"].model_copy(update={"user": outsider, "password": SecretStr(PASSWORD)}))
        for role in roles.ACCESS_ROLES:
            with _connect_as(deployment, role) as conn:
                assert conn.execute("select current_database()").fetchone()[0] == deployment["owner"].dbname
    finally:
        with connection.connect(deployment["owner"], autocommit=True) as conn:
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(outsider)))


def test_a_login_outside_asp_transformer_cannot_build(deployment, tmp_path):
    """dbt works as asp_transformer: a reader login cannot run a build."""
    result = build.run_build(deployment["as"]["asp_reader"],
                             ["--target-path", str(tmp_path), "--select", "mart_phase_yield"])
    assert not result.success
    assert "permission denied to set role" in (result.error or "") + " ".join(
        n.message or "" for n in result.nodes), result
    assert PASSWORD not in result.model_dump_json()


def test_nothing_in_the_target_directory_holds_the_password(deployment):
    for path in Path(deployment["target"]).rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
