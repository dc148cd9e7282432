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
    assert pending and min(pending) == level + 1
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
