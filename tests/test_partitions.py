"""raw.agent_cost_vector in weekly partitions (migration 0011): partitions made ahead and on
demand, the default partition, identities across partitions, the migration of a populated
table, retention by whole partitions, and plans that touch only their partitions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from support import cli_environment, run_cli

from asp_telemetry import build, connection, loading, migrations, retention
from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.loading import identity

NOW = datetime.now(UTC)
MONDAY = (NOW - timedelta(days=NOW.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def _rows(info: ConnectionInfo, query: str, params=None) -> list[tuple]:
    with connection.connect(info) as conn:
        return conn.execute(query, params).fetchall()


def _partitions(info: ConnectionInfo) -> list[str]:
    with connection.connect(info) as conn:
        return [name for name, _, _ in retention.weekly_partitions(conn)]


def _week(moment: datetime) -> str:
    return "agent_cost_vector_" + (moment - timedelta(days=moment.weekday())).strftime("%Y%m%d")


def _cost(task: str, when: datetime, metric: str = "Latency", value: float = 5.0, execution: str | None = None) -> dict:
    return {"record": "agent_cost_vector", "task_id": task, "agent_role": "Code", "metric_type": metric,
            "metric_value": value, "metric_unit": "ms" if metric == "Latency" else "tokens",
            "timestamp": when.isoformat(), "metadata": {"execution_id": execution or f"{task}-E1"}}


def _load(info: ConnectionInfo, path, records: list[dict]):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    [summary] = loading.load_paths(info, [path])
    return summary


def test_this_week_and_four_ahead_exist_and_a_load_makes_the_weeks_it_needs(db, tmp_path):
    partitions = _partitions(db)
    for weeks in range(5):
        assert _week(MONDAY + timedelta(weeks=weeks)) in partitions
    old = NOW - timedelta(days=200)
    ancient = datetime(2001, 1, 1, tzinfo=UTC)
    summary = _load(db, tmp_path / "c.jsonl", [_cost("T-1", old), _cost("T-2", ancient), _cost("T-3", NOW)])
    assert (summary.loaded, summary.rejected) == (3, 0)
    assert _week(old) in _partitions(db) and _week(ancient) not in _partitions(db)
    located = dict(_rows(db, "select task_id, tableoid::regclass::text from raw.agent_cost_vector"))
    assert located == {"T-1": f"raw.{_week(old)}", "T-2": "raw.agent_cost_vector_default", "T-3": f"raw.{_week(NOW)}"}
    assert retention.default_partition_rows(db) == 1


def test_a_row_that_arrived_before_its_partition_moves_into_it(db):
    when = NOW - timedelta(days=400)
    with connection.connect(db) as conn:
        conn.execute("insert into raw.agent_cost_vector (timestamp, task_id, agent_role, metric_type, metric_value,"
                     " metric_unit) values (%s, 'T-EARLY', 'Code', 'Latency', 7, 'ms')", [when])
    where = "select tableoid::regclass::text from raw.agent_cost_vector"
    assert _rows(db, where) == [("raw.agent_cost_vector_default",)]
    with connection.connect(db) as conn:
        assert conn.execute("select raw.ensure_cost_partitions(%s, %s)", [when, when]).fetchone() == (1,)
    assert _rows(db, "select tableoid::regclass::text, task_id, metric_value from raw.agent_cost_vector") == [
        (f"raw.{_week(when)}", "T-EARLY", 7)]


def test_a_metric_reported_once_per_execution_is_one_row_across_weeks(db, tmp_path):
    first = _load(db, tmp_path / "a.jsonl", [_cost("T-1", NOW - timedelta(days=30), "Tokens_In", 100)])
    again = _load(db, tmp_path / "b.jsonl", [_cost("T-1", NOW, "Tokens_In", 100.2)])
    assert (first.loaded, again.loaded, again.duplicates) == (1, 0, 1)
    assert _rows(db, "select count(*) from raw.agent_cost_vector") == [(1,)]
    assert _rows(db, "select count(*) from raw.cost_record_keys") == [(1,)]


def test_the_migration_keeps_every_row_and_identity_of_a_populated_table(empty_db, tmp_path):
    migrations.upgrade(empty_db, target=10)
    records = [_cost(f"T-{i}", NOW - timedelta(days=3 * i), "Tokens_In", i + 1) for i in range(40)]
    with connection.connect(empty_db) as conn:
        for record in records:
            stored = {**record, "metric_value": Decimal(str(record["metric_value"])),
                      "timestamp": datetime.fromisoformat(record["timestamp"])}
            conn.execute(
                "insert into raw.agent_cost_vector (timestamp, task_id, agent_role, metric_type, metric_value,"
                " metric_unit, metadata, record_key) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                [stored["timestamp"], record["task_id"], record["agent_role"], record["metric_type"],
                 stored["metric_value"], record["metric_unit"], json.dumps(record["metadata"]),
                 identity.cost_key(stored)])
        conn.execute("insert into raw.agent_cost_vector (task_id, agent_role, metric_type, metric_value, metric_unit)"
                     " values ('T-SPEC', 'Code', 'Latency', 1, 'ms')")
        conn.execute("create schema team")
        conn.execute("create view team.latency as select task_id, metric_value from raw.agent_cost_vector"
                     " where metric_type = 'Latency'")
        conn.execute("grant usage on schema team to asp_reader")
        conn.execute("grant select on team.latency to asp_reader")
    before = _rows(empty_db, "select * from raw.agent_cost_vector order by id")
    migrations.upgrade(empty_db)
    # a team's view on the table stands on the new one, with its privileges
    assert _rows(empty_db, "select task_id from team.latency") == [("T-SPEC",)]
    assert _rows(empty_db, "select has_table_privilege('asp_reader', 'team.latency', 'select'),"
                           " has_table_privilege('asp_writer', 'raw.agent_cost_vector', 'insert'),"
                           " has_table_privilege('asp_transformer', 'raw.agent_cost_vector', 'select'),"
                           " has_table_privilege('asp_writer', 'raw.agent_cost_vector', 'delete')") == [
        (True, True, True, False)]
    indexes = {name for (name,) in _rows(empty_db, "select indexname from pg_indexes where schemaname = 'raw'"
                                                   " and tablename = 'agent_cost_vector'")}
    assert {"idx_acv_task_id", "idx_acv_metadata_gin", "idx_acv_loaded_at", "idx_acv_model_provider",
            "agent_cost_vector_pkey"} <= indexes
    assert _rows(empty_db, "select * from raw.agent_cost_vector order by id") == before
    assert _rows(empty_db, "select relkind from pg_class where oid = 'raw.agent_cost_vector'::regclass") == [("p",)]
    assert _rows(empty_db, "select count(*) from raw.cost_record_keys") == [(40,)]
    again = _load(empty_db, tmp_path / "again.jsonl", records)
    assert (again.loaded, again.duplicates) == (0, 40)
    with connection.connect(empty_db) as conn:
        next_id = conn.execute("insert into raw.agent_cost_vector (task_id, agent_role, metric_type, metric_value,"
                               " metric_unit) values ('T-NEW', 'Code', 'Latency', 1, 'ms') returning id").fetchone()
    assert next_id[0] > max(row[0] for row in before)


def test_retention_drops_exactly_the_weeks_older_than_the_period(db, tmp_path):
    weeks_back = [1, 3, 5, 8, 12]
    records = [_cost(f"T-{w}", MONDAY - timedelta(weeks=w) + timedelta(days=2)) for w in weeks_back]
    assert _load(db, tmp_path / "c.jsonl", records).loaded == 5
    with connection.connect(db) as conn:
        conn.execute("insert into raw.rejected_records (source, position, reason, original_text, reject_key,"
                     " rejected_at) values ('x', 'line 1', 'bad', 'x', gen_random_uuid(), now() - interval '60 days')")
    period = retention.parse_duration("6w")
    preview = retention.retain(db, period, dry_run=True)
    assert preview.dry_run and preview.rows == 2 and preview.rejects == 1
    assert _rows(db, "select count(*) from raw.agent_cost_vector") == [(5,)]

    done = retention.retain(db, period)
    cutoff = done.cutoff
    assert [p.name for p in done.partitions] == [p.name for p in preview.partitions]
    assert all(p.ends <= cutoff for p in done.partitions)
    # weeks 8 and 12 back end before the cut-off; week 5 back is younger; the week that
    # straddles the cut-off is kept whole
    assert sorted(task for (task,) in _rows(db, "select task_id from raw.agent_cost_vector")) == ["T-1", "T-3", "T-5"]
    assert all(name not in _partitions(db) for name in (p.name for p in done.partitions))
    with connection.connect(db) as conn:
        assert min(start for _, start, _ in retention.weekly_partitions(conn)) > cutoff - timedelta(weeks=1)
    assert done.identities == 2 and done.rejects == 1
    assert _rows(db, "select count(*) from raw.cost_record_keys") == [(3,)]
    assert f"dropped {len(done.partitions)} weeks" in done.line() and "(2 rows)" in done.line()


@pytest.mark.parametrize("text", ["", "30", "d", "0d", "-3d", "3m", "1.5y", "30 days"])
def test_a_retention_period_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match="retention period"):
        retention.parse_duration(text)


def test_a_query_over_a_week_touches_only_that_weeks_partition(db, tmp_path):
    _load(db, tmp_path / "c.jsonl", [_cost(f"T-{w}", MONDAY - timedelta(weeks=w)) for w in range(6)])
    with connection.connect(db) as conn:
        conn.execute("analyze raw.agent_cost_vector")
        plan = "\n".join(row[0] for row in conn.execute(
            "explain select sum(metric_value) from raw.agent_cost_vector"
            " where timestamp >= %s and timestamp < %s", [MONDAY - timedelta(weeks=2), MONDAY - timedelta(weeks=1)]))
    scanned = {name for name in _partitions(db) if name in plan}
    assert scanned == {_week(MONDAY - timedelta(weeks=2))}, plan
    assert "agent_cost_vector_default" not in plan


def test_the_marts_keep_the_dropped_weeks_until_a_full_refresh(make_database, tmp_path):
    info = make_database("asp_retained")
    records = [_cost("T-OLD", NOW - timedelta(days=70)), _cost("T-NEW", NOW - timedelta(days=1))]
    records += [{"record": "task_metadata", "task_id": t, "status": "completed"} for t in ("T-OLD", "T-NEW")]
    _load(info, tmp_path / "c.jsonl", records)
    assert build.run_build(info, ["--exclude-resource-type", "unit_test"]).success
    retention.retain(info, retention.parse_duration("30d"))
    assert build.run_build(info, ["--exclude-resource-type", "unit_test"]).success
    executions = "select task_id from marts.fct_agent_executions order by 1"
    assert _rows(info, executions) == [("T-NEW",), ("T-OLD",)]
    assert build.run_build(info, ["--full-refresh", "--exclude-resource-type", "unit_test"]).success
    assert _rows(info, executions) == [("T-NEW",)]


def test_db_retain_on_the_command_line(db, tmp_path):
    _load(db, tmp_path / "c.jsonl", [_cost("T-OLD", NOW - timedelta(days=100)), _cost("T-NEW", NOW)])
    env = cli_environment(db)
    preview = run_cli("db", "retain", "--older-than", "30d", "--dry-run", env=env)
    assert preview.stdout.startswith("would drop ") and "(1 rows)" in preview.stdout
    assert _rows(db, "select count(*) from raw.agent_cost_vector") == [(2,)]
    done = run_cli("db", "retain", "--older-than", "30d", env=env)
    assert done.stdout.startswith("dropped ")
    assert _rows(db, "select task_id from raw.agent_cost_vector") == [("T-NEW",)]
    refused = run_cli("db", "retain", "--older-than", "3 months", env=env, check=False)
    assert refused.returncode != 0 and "not a retention period: '3 months'" in refused.stderr


def test_the_retention_flow_applies_the_configured_policy(prefect_server, db, tmp_path, use_database, monkeypatch):
    from asp_telemetry.flows.retention import retention as retention_flow

    use_database(db)
    _load(db, tmp_path / "c.jsonl", [_cost("T-OLD", NOW - timedelta(days=100)), _cost("T-NEW", NOW)])
    monkeypatch.delenv("ASP_RETENTION", raising=False)
    assert retention_flow() is None
    assert _rows(db, "select count(*) from raw.agent_cost_vector") == [(2,)]
    monkeypatch.setenv("ASP_RETENTION", "30d")
    result = retention_flow()
    assert result.rows == 1
    assert _rows(db, "select task_id from raw.agent_cost_vector") == [("T-NEW",)]
    with pytest.raises(ValueError, match="not a retention period"):
        retention_flow(older_than="soon")


def test_each_identity_keeps_its_rows_timestamp_whatever_the_text_around_it(db, tmp_path):
    """The identities' COPY text is cut from the cost rows' own COPY lines: values with tabs,
    newlines and backslashes (escaped there) must not shift the timestamp taken from them."""
    awkward = "tab\there, new\nline, back\\slash, \\N, \r"
    records = [
        {**_cost(f"T-{n}", NOW - timedelta(days=n, minutes=n)), "subtask_id": awkward if n % 2 else None,
         "llm_model": awkward if n % 3 else None, "metadata": {"execution_id": f"E-{n}", "note": awkward}}
        for n in range(12)
    ]
    summary = _load(db, tmp_path / "awkward.jsonl", records)
    assert (summary.loaded, summary.rejected) == (12, 0)
    rows = _rows(db, "select c.task_id, c.subtask_id, c.llm_model, c.metadata->>'note', k.timestamp = c.timestamp"
                     " from raw.agent_cost_vector c join raw.cost_record_keys k using (record_key)"
                     " order by c.task_id")
    assert len(rows) == 12
    for task_id, subtask_id, llm_model, note, same_instant in rows:
        n = int(task_id.split("-")[1])
        assert (subtask_id, llm_model, note) == (awkward if n % 2 else None, awkward if n % 3 else None, awkward)
        assert same_instant
