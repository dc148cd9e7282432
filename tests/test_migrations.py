"""Forward-only migrations: idempotent, resumable from any level, safe to run concurrently,
and loud when an applied file changed."""

from __future__ import annotations

import shutil
import threading

import psycopg
import pytest

from asp_telemetry import connection, migrations


def _schema_fingerprint(info) -> list[tuple]:
    """Tables, columns, indexes and constraints of the schemas migrations own."""
    with connection.connect(info) as conn:
        return conn.execute(
            """
            select 'column', table_schema || '.' || table_name || '.' || column_name, data_type
            from information_schema.columns where table_schema in ('raw', 'asp_meta')
            union all
            select 'index', schemaname || '.' || indexname, indexdef from pg_indexes
            where schemaname in ('raw', 'asp_meta')
            union all
            select 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
            from pg_constraint where connamespace in ('raw'::regnamespace)
            union all
            select 'schema', nspname, pg_get_userbyid(nspowner) from pg_namespace
            where nspname in ('raw', 'staging', 'intermediate', 'marts', 'asp_meta')
            order by 1, 2, 3
            """
        ).fetchall()


def _applied_versions(info) -> list[int]:
    with connection.connect(info) as conn:
        return [v for (v,) in conn.execute("select version from asp_meta.schema_migrations order by version")]


def test_upgrade_applies_every_migration_then_is_a_no_op(empty_db):
    all_versions = [m.version for m in migrations.discover()]
    first = migrations.upgrade(empty_db)
    assert [m.version for m in first] == all_versions
    before = _schema_fingerprint(empty_db)
    assert migrations.upgrade(empty_db) == []
    assert _schema_fingerprint(empty_db) == before
    assert _applied_versions(empty_db) == all_versions
    assert {s.state for s in migrations.status(empty_db)} == {"applied"}


@pytest.mark.parametrize("level", [m.version for m in migrations.discover()][:-1])
def test_upgrade_from_every_earlier_level_reaches_the_same_schema(pg_server, db, empty_db, level):
    migrations.upgrade(empty_db, target=level)
    assert _applied_versions(empty_db) == [m.version for m in migrations.discover() if m.version <= level]
    pending = [s.version for s in migrations.status(empty_db) if s.state == "pending"]
    assert pending and min(pending) == min(m.version for m in migrations.discover() if m.version > level)
    migrations.upgrade(empty_db)
    assert _schema_fingerprint(empty_db) == _schema_fingerprint(db)


def test_two_concurrent_upgrades_leave_one_consistent_schema(db, empty_db):
    errors: list[BaseException] = []
    results: list[list] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(migrations.upgrade(empty_db))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # One upgrade applied everything, the other found nothing left to do.
    assert sorted(len(r) for r in results) == [0, len(migrations.discover())]
    assert _schema_fingerprint(empty_db) == _schema_fingerprint(db)


def test_a_changed_applied_migration_is_refused_naming_the_file(empty_db, tmp_path):
    directory = tmp_path / "migrations"
    shutil.copytree(migrations.discover()[0].path.parent, directory)
    migrations.upgrade(empty_db, directory=directory)
    changed = directory / "0001_raw_schema.sql"
    changed.write_text(changed.read_text() + "\n-- an innocent-looking edit\n")
    with pytest.raises(migrations.MigrationError, match="0001_raw_schema.sql was changed after it was applied"):
        migrations.upgrade(empty_db, directory=directory)
    assert next(s for s in migrations.status(empty_db, directory) if s.version == 1).state == "changed"


def test_a_failing_migration_rolls_back_and_is_not_recorded(empty_db, tmp_path):
    directory = tmp_path / "migrations"
    shutil.copytree(migrations.discover()[0].path.parent, directory)
    (directory / "9999_broken.sql").write_text("create table raw.half_done (a int);\nselect 1/0;\n")
    with pytest.raises(migrations.MigrationError, match="9999_broken.sql failed and was rolled back"):
        migrations.upgrade(empty_db, directory=directory)
    with connection.connect(empty_db) as conn:
        assert conn.execute("select to_regclass('raw.half_done')").fetchone()[0] is None
    assert 9999 not in _applied_versions(empty_db)


def test_badly_named_migration_files_are_refused(tmp_path):
    (tmp_path / "add_things.sql").write_text("select 1;")
    with pytest.raises(migrations.MigrationError, match="add_things.sql: migration files are named"):
        migrations.discover(tmp_path)


def test_foreign_keys_are_optional_and_refuse_orphans_clearly(db):
    with connection.connect(db) as conn:
        fks = conn.execute(
            "select count(*) from pg_constraint where contype = 'f' and connamespace = 'raw'::regnamespace"
        )
        assert fks.fetchone()[0] == 0
        conn.execute(
            "insert into raw.agent_cost_vector (task_id, agent_role, metric_type, metric_value, metric_unit)"
            " values ('ORPHAN', 'Code', 'Latency', 1, 'ms')"
        )
        conn.commit()
    with pytest.raises(migrations.MigrationError, match="Load the missing task_metadata rows first"):
        migrations.upgrade(db, with_foreign_keys=True)
    with connection.connect(db) as conn:
        conn.execute("insert into raw.task_metadata (task_id) values ('ORPHAN')")
        conn.commit()
    migrations.upgrade(db, with_foreign_keys=True)
    migrations.upgrade(db, with_foreign_keys=True)  # again: nothing to add
    with connection.connect(db) as conn:
        names = {n for (n,) in conn.execute("select conname from pg_constraint where contype = 'f'")}
        assert names == {"fk_acv_task", "fk_defect_task"}
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("insert into raw.defect_log (defect_id, task_id, defect_type, phase_injected,"
                         " phase_removed, description) values ('D', 'NOPE', 'x', 'Code', 'Test', 'x')")


# --- what `db upgrade` refuses, and `db status` reports with exit status 1 ------------------
def _copy_of_the_migrations(tmp_path):
    directory = tmp_path / "migrations"
    shutil.copytree(migrations.discover()[0].path.parent, directory)
    return directory


def test_a_migration_numbered_below_the_latest_applied_one_is_refused(empty_db, tmp_path):
    """What happens to a database a branch upgraded (say with 0007) when another branch's
    0006 is merged later."""
    directory = _copy_of_the_migrations(tmp_path)
    migrations.upgrade(empty_db, directory=directory)
    latest = migrations.discover(directory)[-1]
    taken = {m.version for m in migrations.discover(directory)}
    late = directory / f"{max(set(range(latest.version)) - taken):04d}_from_another_branch.sql"
    late.write_text("create table raw.late_arrival (a int);\n")
    with pytest.raises(migrations.MigrationError) as refused:
        migrations.upgrade(empty_db, directory=directory)
    message = str(refused.value)
    assert f"{late.name} is numbered below {latest.path.name}" in message
    assert "--allow-out-of-order" in message and "recreated" in message
    with connection.connect(empty_db) as conn:
        assert conn.execute("select to_regclass('raw.late_arrival')").fetchone()[0] is None
    states = {s.name: s.state for s in migrations.status(empty_db, directory)}
    assert states[late.stem[5:]] == "out of order"
    applied = migrations.upgrade(empty_db, directory=directory, allow_out_of_order=True)
    assert [m.path.name for m in applied] == [late.name]
    assert all(s.state == "applied" for s in migrations.status(empty_db, directory))


def test_a_renamed_migration_is_noticed(empty_db, tmp_path):
    directory = _copy_of_the_migrations(tmp_path)
    migrations.upgrade(empty_db, directory=directory)
    (directory / "0003_loaded_at.sql").rename(directory / "0003_arrival_times.sql")
    assert {s.version: s.state for s in migrations.status(empty_db, directory)}[3] == "renamed"
    with pytest.raises(migrations.MigrationError, match="0003_arrival_times.sql was applied as 0003_loaded_at.sql"):
        migrations.upgrade(empty_db, directory=directory)


def test_a_renumbered_migration_is_reported_missing_naming_its_new_file(empty_db, tmp_path):
    directory = _copy_of_the_migrations(tmp_path)
    migrations.upgrade(empty_db, directory=directory)
    (directory / "0003_loaded_at.sql").rename(directory / "0099_loaded_at.sql")
    with pytest.raises(migrations.MigrationError, match="0099_loaded_at.sql has its content"):
        migrations.upgrade(empty_db, directory=directory)


def test_relations_built_before_0007_are_handed_to_asp_transformer(empty_db):
    migrations.upgrade(empty_db, target=5)
    with connection.connect(empty_db) as conn:
        conn.execute("create table marts.built_by_the_owner as select 1 as x")
        conn.execute("create view staging.seen_by_the_owner as select 1 as x")
    migrations.upgrade(empty_db)
    with connection.connect(empty_db) as conn:
        owners = conn.execute(
            "select relname, pg_get_userbyid(relowner) from pg_class where relname in"
            " ('built_by_the_owner', 'seen_by_the_owner') order by 1").fetchall()
    assert owners == [("built_by_the_owner", "asp_transformer"), ("seen_by_the_owner", "asp_transformer")]


def test_db_status_exits_1_when_a_migration_changed_went_missing_or_is_out_of_order(empty_db, tmp_path):
    from support import PROJECT_DIR, cli_environment, run_cli

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT_DIR / "dbt_project.yml", project)
    directory = _copy_of_the_migrations(project.parent / "copy")
    shutil.move(directory, project / "migrations")
    env = cli_environment(empty_db, ASP_PROJECT_DIR=str(project), COLUMNS="200")
    run_cli("db", "upgrade", env=env)
    assert run_cli("db", "status", env=env).returncode == 0
    (project / "migrations" / "0000_late.sql").write_text("select 1;\n")
    late = run_cli("db", "status", env=env, check=False)
    assert late.returncode == 1 and "out of order" in late.stdout and "0000_late out of order" in late.stderr
    (project / "migrations" / "0000_late.sql").unlink()
    first = project / "migrations" / "0001_raw_schema.sql"
    first.write_text(first.read_text() + "\n-- edited\n")
    changed = run_cli("db", "status", env=env, check=False)
    assert changed.returncode == 1 and "0001_raw_schema changed" in changed.stderr
    first.unlink()
    missing = run_cli("db", "status", env=env, check=False)
    assert missing.returncode == 1 and "0001_raw_schema missing" in missing.stderr


def test_0008_widens_metric_value_keeping_the_views_on_it(empty_db):
    """A view on raw.agent_cost_vector (dbt's staging view, a team's own) would make PostgreSQL
    refuse the type change: 0008 makes each one again, with its owner and privileges."""
    migrations.upgrade(empty_db, target=7)
    with connection.connect(empty_db) as conn:
        conn.execute("create schema team")
        conn.execute("create view team.costs as select task_id, metric_value from raw.agent_cost_vector")
        conn.execute("grant usage on schema team to asp_reader")
        conn.execute("grant select on team.costs to asp_reader")
        conn.execute("create view staging.acv as select id, metric_value::numeric as metric_value"
                     " from raw.agent_cost_vector")
        conn.execute("alter view staging.acv owner to asp_transformer")
        conn.execute("insert into raw.agent_cost_vector (task_id, agent_role, metric_type, metric_value,"
                     " metric_unit) values ('T-1', 'Code', 'API_Cost', 0.0123, 'USD')")
    migrations.upgrade(empty_db)
    with connection.connect(empty_db) as conn:
        conn.execute("insert into raw.agent_cost_vector (task_id, agent_role, metric_type, metric_value,"
                     " metric_unit) values ('T-2', 'Code', 'API_Cost', 0.00001234, 'USD')")
        values = conn.execute("select task_id, metric_value::text from team.costs order by task_id").fetchall()
        assert values == [("T-1", "0.012300000000"), ("T-2", "0.000012340000")]
        owner = conn.execute("select viewowner from pg_views where schemaname = 'staging'"
                             " and viewname = 'acv'").fetchone()[0]
        assert owner == "asp_transformer"
        assert conn.execute("select has_table_privilege('asp_reader', 'team.costs', 'select')").fetchone()[0]
        assert conn.execute("select format_type(atttypid, atttypmod) from pg_attribute"
                            " where attrelid = 'raw.agent_cost_vector'::regclass"
                            " and attname = 'metric_value'").fetchone()[0] == "numeric(24,12)"
