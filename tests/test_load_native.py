"""`asp-telemetry load` with native JSON Lines and CSV: validation, rejects, identities,
updates, --strict, and the inputs it reads (gzip, stdin, directories)."""

from __future__ import annotations

import gzip
import json
import uuid
from decimal import Decimal

from load_support import bootstrap, cost, count, defect, jsonl, query, rejects, task
from psycopg import sql
from pydantic import SecretStr
from support import cli_environment, run_cli

from asp_telemetry import connection, loading, migrations, roles

UNICODE_TEXT = (
    "He said \"it's fine\" \\ then: \ttab, new\nline, ünïcødé ☃, emoji 🧪, RTL שלום, zero-width\u200b, 'single'"
)

# (line, expected fragment of the reason): every bad-input case of the issue, between good lines.
BAD_LINES = [
    ('{"record": "agent_cost_vector", "task_id": "T-1", "agent_role": "Code"', "not valid JSON"),
    (json.dumps(cost(task_id=42)), "task_id: input should be a valid string"),
    (json.dumps(cost(value="fast")), "metric_value: input should be a valid decimal"),
    (json.dumps(cost(agent_iteration="second")), "agent_iteration: input should be an integer"),
    (json.dumps(cost(value=-0.5)), "metric_value: input should be greater than or equal to 0"),
    (json.dumps(cost(value=1_000_000_000_000)), "metric_value: input should be less than 1000000000000"),
    (json.dumps(cost(agent_iteration=2**31)), "agent_iteration: input should be less than or equal to 2147483647"),
    (json.dumps(cost(value=1e400)), "metric_value: input should be a finite number"),
    (json.dumps({k: v for k, v in cost().items() if k != "task_id"}), "task_id: required, missing"),
    (json.dumps({k: v for k, v in defect().items() if k != "description"}), "description: required, missing"),
    (json.dumps(cost(timestamp="2026-02-30T10:00:00Z")), "timestamp: input should be a valid datetime"),
    (json.dumps(cost(timestamp="2026-01-05 10:00:00")), "timestamp: input should have timezone info"),
    (json.dumps(cost(timestamp="yesterday")), "timestamp: input should be an ISO 8601 time with a UTC offset"),
    (json.dumps(defect(phase_removed="Code")), "cannot be injected and removed in the same phase"),
    (
        json.dumps(defect(created_at="2026-01-02T00:00:00Z", resolved_at="2026-01-01T00:00:00Z")),
        "resolved_at: earlier than created_at",
    ),
    (json.dumps({**cost(), "record": "agent_costs"}), "unknown record type 'agent_costs'"),
    (json.dumps({k: v for k, v in cost().items() if k != "record"}), 'no "record" key'),
    ("[1, 2, 3]", "not a JSON object (a list)"),
    ('"just a string"', "not a JSON object (a str)"),
    ("42", "not a JSON object (a int)"),
    ("null", "not a JSON object"),
    (json.dumps(cost(agent_role="Coder")), "agent_role: unknown agent role 'Coder'"),
    (json.dumps(cost(metric_unit="s")), "metric_unit: Latency is measured in 'ms', not 's'"),
    (json.dumps(cost(metric_type="Cache_Hits", metric_unit="count")), "metric_type: unknown metric type 'Cache_Hits'"),
    (json.dumps(defect(defect_type="9_Bad_Vibes")), "defect_type: unknown defect type '9_Bad_Vibes'"),
    (json.dumps({**cost(), "id": 7}), "id: assigned by the database, leave it out"),
    (json.dumps({**cost(), "metric_val": 7}), "metric_val: unknown column"),
    (json.dumps(cost(task_id="T" * 101)), "task_id: string should have at most 100 characters"),
    (json.dumps(task(status="done")), "status: input should be 'pending', 'in_progress', 'completed' or 'failed'"),
    (
        json.dumps(bootstrap(tasks_required_for_graduation=0)),
        "tasks_required_for_graduation: input should be greater than or equal to 1",
    ),
    (
        json.dumps(bootstrap(capability_mode="Graduated")),
        "capability_mode: input should be 'Learning', 'Shadow' or 'Autonomous'",
    ),
    (json.dumps(cost(metadata=["not", "an", "object"])), "metadata: input should be an object"),
    (json.dumps(defect(description="nul \u0000 inside")), "contains a NUL character"),
    (
        '{"record": "defect_log", "description": "ünïcødé ☃ \\"quoted\\"", "defect_id": 5}',
        "defect_id: input should be a valid string",
    ),
]


def test_every_bad_line_is_rejected_with_its_reason_and_the_good_lines_load(db, tmp_path):
    lines: list = ["", "   "]  # blank lines are no records
    good = 0
    for index, (bad, _) in enumerate(BAD_LINES):
        lines.append(cost(metadata={"execution_id": f"E-{index}"}))
        good += 1
        lines.append(bad)
    lines.append(defect("D-UNICODE", description=UNICODE_TEXT, root_cause=UNICODE_TEXT))
    good += 1
    path = jsonl(tmp_path / "mixed.jsonl", lines)

    [summary] = loading.load_paths(db, [path])

    assert (summary.loaded, summary.duplicates, summary.rejected, summary.status) == (
        good,
        0,
        len(BAD_LINES),
        "complete",
    )
    stored = rejects(db)
    assert len(stored) == len(BAD_LINES)
    for (position, _record_type, reason, original), (line, expected), number in zip(
        stored, BAD_LINES, range(4, 4 + 2 * len(BAD_LINES), 2)
    ):
        assert position == f"line {number}"
        assert expected in reason, (line, reason)
        assert original == line.replace("\x00", "\\u0000")  # the text exactly as read
    assert count(db, "agent_cost_vector") == good - 1
    assert query(db, "select description, root_cause from raw.defect_log where defect_id = 'D-UNICODE'") == [
        (UNICODE_TEXT, UNICODE_TEXT)
    ]


def test_a_rejected_line_keeps_its_record_type_and_unicode_text_verbatim(db, tmp_path):
    line = json.dumps(cost(agent_role="Ρόλος ☃ \"x\""), ensure_ascii=False)
    loading.load_paths(db, [jsonl(tmp_path / "r.jsonl", [line])])
    [(position, record_type, reason, original)] = rejects(db)
    assert (position, record_type, original) == ("line 1", "agent_cost_vector", line)
    assert "unknown agent role 'Ρόλος ☃ \"x\"'" in reason


def test_one_file_mixes_all_four_record_types_and_defaults_apply(db, tmp_path):
    path = jsonl(tmp_path / "all.jsonl", [
        task("T-1", status="in_progress"),
        cost("Latency", 2150.5, timestamp=...),
        cost("Tokens_In", 5240),
        defect("D-1"),
        bootstrap(measured_at=...),
    ])
    [summary] = loading.load_paths(db, [path])
    assert (summary.loaded, summary.rejected, summary.format) == (5, 0, "native")
    assert query(db, "select status, defect_count, human_reviewed from raw.task_metadata") == [
        ("in_progress", 0, False)
    ]
    assert query(db, "select flagged_by_agent, validated_by_human, false_positive from raw.defect_log") == [
        (False, False, False)
    ]
    assert query(db, "select agent_iteration, metric_unit from raw.agent_cost_vector order by metric_type") == [
        (1, "ms"), (1, "tokens")
    ]
    # Records that leave out a timestamp get the load's time, as an INSERT would.
    assert query(db, "select count(*) from raw.agent_cost_vector where timestamp > now() - interval '1 hour'") == [(1,)]
    assert query(db, "select count(*) from raw.bootstrap_metrics where measured_at > now() - interval '1 hour'") == [
        (1,)
    ]


def test_the_unit_may_be_left_out_and_comes_from_the_seed(db, tmp_path):
    loading.load_paths(db, [jsonl(tmp_path / "u.jsonl", [cost("API_Cost", 0.0382, metric_unit=...)])])
    assert query(db, "select metric_unit, metric_value from raw.agent_cost_vector") == [("USD", Decimal("0.0382"))]


def test_vocabularies_come_from_the_seeds_at_load_time(db, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "seeds").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: x\n")
    from support import PROJECT_DIR

    for seed in ("agent_roles.csv", "metric_types.csv", "defect_types.csv"):
        (project / "seeds" / seed).write_text((PROJECT_DIR / "seeds" / seed).read_text())
    with (project / "seeds" / "agent_roles.csv").open("a") as handle:
        handle.write('Deploy,8,postmortem,"Ships the change"\n')
    with (project / "seeds" / "metric_types.csv").open("a") as handle:
        handle.write('Cache_Hits,count,"Prompt cache hits"\n')
    monkeypatch.setenv("ASP_PROJECT_DIR", str(project))
    path = jsonl(tmp_path / "v.jsonl", [cost(agent_role="Deploy"), cost("Cache_Hits", 3, metric_unit="count")])
    [summary] = loading.load_paths(db, [path])
    assert (summary.loaded, summary.rejected) == (2, 0)


# -- identities ---------------------------------------------------------------------------

def test_a_cost_row_without_timestamp_loaded_twice_is_one_row(db, tmp_path):
    path = jsonl(tmp_path / "c.jsonl", [cost(timestamp=..., metadata=...)])
    loading.load_paths(db, [path])
    [again] = loading.load_paths(db, [path])
    assert (again.loaded, again.duplicates) == (0, 1)
    assert count(db, "agent_cost_vector") == 1


def test_the_same_instant_in_another_offset_or_with_more_digits_is_the_same_row(db, tmp_path):
    first = cost("Memory_Usage", 512, metadata={"execution_id": "E-9"})
    second = cost("Memory_Usage", 512.00001, timestamp="2026-01-05T12:00:00+02:00", metadata={"execution_id": "E-9"})
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "m.jsonl", [first, second])])
    assert (summary.loaded, summary.duplicates) == (1, 1)


def test_several_memory_observations_of_one_execution_are_rows_only_when_they_differ(db, tmp_path):
    lines = [
        cost("Memory_Usage", 512),
        cost("Memory_Usage", 768),  # another sample of the same execution
        cost("Memory_Usage", 512, metadata={"execution_id": "E-1", "process": "worker-2"}),  # another process
        cost("Memory_Usage", 512),  # the first line again
    ]
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "m.jsonl", lines)])
    assert (summary.loaded, summary.duplicates) == (3, 1)


def test_a_metric_reported_once_per_execution_is_never_updated_or_doubled(db, tmp_path):
    loading.load_paths(db, [jsonl(tmp_path / "a.jsonl", [cost("Latency", 1000)])])
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "b.jsonl", [cost("Latency", 1000.7, llm_model="other")])])
    assert (summary.loaded, summary.duplicates) == (0, 1)
    assert query(db, "select metric_value, llm_model from raw.agent_cost_vector") == [
        (Decimal("1000.0000"), "claude-sonnet-4")
    ]


def test_executions_differ_by_task_subtask_role_iteration_and_execution_id(db, tmp_path):
    lines = [
        cost(), cost(task_id="T-2"), cost(subtask_id="S-1"), cost(agent_role="Test"),
        cost(agent_iteration=2), cost(metadata={"execution_id": "E-2"}),
    ]
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "e.jsonl", lines)])
    assert (summary.loaded, summary.duplicates) == (6, 0)


def test_a_task_arriving_again_takes_its_new_facts_and_never_moves_back(db, tmp_path):
    loading.load_paths(db, [jsonl(tmp_path / "1.jsonl", [
        task(status="in_progress", estimated_complexity=18, started_at="2026-01-05T09:00:00Z",
             human_reviewed=True, task_description="login with JWT"),
    ])])
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "2.jsonl", [
        task(status="completed", actual_complexity=21, completed_at="2026-01-06T10:00:00Z"),
    ])])
    assert (summary.loaded, summary.updated) == (0, 1)
    # An older export arriving later changes nothing that moved on.
    [stale] = loading.load_paths(db, [jsonl(tmp_path / "3.jsonl", [
        task(status="in_progress", completed_at="2026-01-06T08:00:00Z"),
    ])])
    assert (stale.updated, stale.duplicates) == (0, 1)
    assert query(db, """
        select status, estimated_complexity, actual_complexity, completed_at::text, human_reviewed, task_description
        from raw.task_metadata""") == [
        ("completed", 18, 21, "2026-01-06 10:00:00+00", True, "login with JWT"),
    ]


def test_a_task_created_and_completed_in_one_file_is_one_row_with_both(db, tmp_path):
    lines = [task(status="pending", estimated_complexity=5), task(status="completed", actual_complexity=7)]
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "t.jsonl", lines)])
    assert (summary.loaded, summary.updated) == (1, 1)
    assert query(db, "select status, estimated_complexity, actual_complexity from raw.task_metadata") == [
        ("completed", 5, 7)
    ]


def test_a_defect_arriving_again_brings_its_resolution(db, tmp_path):
    loading.load_paths(
        db, [jsonl(tmp_path / "1.jsonl", [defect(created_at="2026-01-05T10:00:00Z", flagged_by_agent=True)])]
    )
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "2.jsonl", [
        defect(resolved_at="2026-01-05T12:00:00Z", resolution_notes="pinned the real library",
               validated_by_human=True, description="a different description is ignored"),
    ])])
    assert summary.updated == 1
    assert query(
        db,
        """
        select resolved_at::text, resolution_notes, flagged_by_agent, validated_by_human, false_positive, description
        from raw.defect_log""",
    ) == [
        (
            "2026-01-05 12:00:00+00",
            "pinned the real library",
            True,
            True,
            False,
            "imported a library that does not exist",
        ),
    ]


def test_the_database_own_checks_reject_a_record_and_the_rest_loads(db, tmp_path):
    loading.load_paths(db, [jsonl(tmp_path / "1.jsonl", [defect(created_at="2026-01-05T10:00:00Z")])])
    lines = [
        defect("D-2"),
        defect(resolved_at="2026-01-01T00:00:00Z"),  # resolved before the stored created_at
        defect("D-3"),
    ]
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "2.jsonl", lines)])
    assert (summary.loaded, summary.rejected) == (2, 1)
    [(position, record_type, reason, _)] = rejects(db)
    assert (position, record_type) == ("line 2", "defect_log")
    assert "refused by the database" in reason and "chk_resolved_after_created" in reason


def test_with_the_optional_foreign_keys_cost_rows_of_unknown_tasks_are_rejected(db, tmp_path):
    migrations.upgrade(db, with_foreign_keys=True)
    lines = [task("T-1")] + [cost(metadata={"execution_id": f"E-{i}"}) for i in range(5)] + [
        cost(task_id="T-404"), cost(task_id="T-1", agent_role="Test"),
    ]
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "fk.jsonl", lines)])
    assert (summary.loaded, summary.rejected) == (7, 1)
    [(position, _, reason, _)] = rejects(db)
    assert position == "line 7" and "fk_acv_task" in reason


def test_bootstrap_rows_are_identified_by_capability_period_and_measurement(db, tmp_path):
    lines = [bootstrap(), bootstrap(primary_metric_value=17), bootstrap(measured_at="2026-01-09T00:00:00Z"),
             bootstrap(measured_at=...), bootstrap(measured_at=...)]
    [summary] = loading.load_paths(db, [jsonl(tmp_path / "b.jsonl", lines)])
    assert (summary.loaded, summary.duplicates) == (3, 2)


# -- strict, summaries, inputs ------------------------------------------------------------

def test_strict_rolls_the_file_back_records_the_rejects_and_fails(db, tmp_path):
    good = jsonl(tmp_path / "good.jsonl", [task("T-9")])
    bad = jsonl(tmp_path / "bad.jsonl", [cost(metadata={"execution_id": f"E-{i}"}) for i in range(30)] + ["{oops"])
    result = run_cli("load", "--strict", "--batch-rows", "7", str(good), str(bad), env=cli_environment(db), check=False)
    assert result.returncode == 1
    assert "good.jsonl: 1 read: 1 loaded, 0 duplicates skipped, 0 rejected" in result.stdout
    assert "bad.jsonl: rolled back (--strict), 1 rejected, nothing loaded" in result.stderr
    assert "2 files: 32 read: 1 loaded, 0 duplicates skipped, 1 rejected, 30 rolled back" in result.stdout
    assert count(db, "agent_cost_vector") == 0 and count(db, "task_metadata") == 1
    assert [r[0] for r in rejects(db)] == ["line 31"]
    assert query(db, "select source, status from raw.loads order by load_id") == [
        (str(good), "complete"), (str(bad), "rolled_back"),
    ]


def test_rejects_do_not_fail_the_command_and_each_file_gets_a_summary_line(db, tmp_path):
    a = jsonl(tmp_path / "a.jsonl", [cost(), "not json"])
    b = jsonl(tmp_path / "b.jsonl", [cost()])
    result = run_cli("load", str(a), str(b), env=cli_environment(db))
    assert f"{a}: 2 read: 1 loaded, 0 duplicates skipped, 1 rejected" in result.stdout
    assert f"{b}: 1 read: 0 loaded, 1 duplicates skipped, 0 rejected" in result.stdout
    assert "2 files: 3 read: 1 loaded, 1 duplicates skipped, 1 rejected" in result.stdout


def test_unreadable_input_fails_with_a_clear_message_and_loads_nothing(db, tmp_path):
    good = jsonl(tmp_path / "good.jsonl", [cost()])
    result = run_cli("load", str(good), str(tmp_path / "missing.jsonl"), env=cli_environment(db), check=False)
    assert result.returncode == 1
    assert f"{tmp_path / 'missing.jsonl'}: no such file or directory" in " ".join(result.stderr.split())
    assert count(db, "agent_cost_vector") == 0

    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(
        gzip.compress(b"\n".join(json.dumps(cost(metadata={"execution_id": str(i)})).encode() for i in range(2000)))[
            :-200
        ]
    )
    result = run_cli("load", str(broken), env=cli_environment(db), check=False)
    assert result.returncode == 1
    assert "unreadable input" in result.stderr and "broken.jsonl.gz" in result.stderr
    assert query(db, "select status from raw.loads where source = %s", str(broken)) == [("failed",)]


def test_gzip_stdin_and_directories_are_read(db, tmp_path):
    directory = tmp_path / "exports"
    (directory / "day2").mkdir(parents=True)
    jsonl(directory / "a.jsonl", [cost(metadata={"execution_id": "A"})])
    (directory / "day2" / "b.jsonl.gz").write_bytes(
        gzip.compress(json.dumps(cost(metadata={"execution_id": "B"})).encode())
    )
    (directory / ".hidden.jsonl").write_text("garbage\n")
    stdin = json.dumps(cost(metadata={"execution_id": "C"})) + "\n"
    result = run_cli("load", str(directory), "-", env=cli_environment(db), input=stdin)
    assert "<stdin>: 1 read: 1 loaded" in result.stdout
    assert "b.jsonl.gz: 1 read: 1 loaded" in result.stdout
    assert count(db, "agent_cost_vector") == 3 and rejects(db) == []
    # The ledger knows each input by its content, stdin included.
    assert query(db, "select count(*) from raw.loads where content_sha256 ~ '^[0-9a-f]{64}$'") == [(3,)]


def test_csv_needs_its_table_and_reads_json_columns_and_empty_cells(db, tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text(
        "task_id,status,estimated_complexity,semantic_units_json,components_affected,human_reviewed,task_description\n"
        'T-1,in_progress,18,"{""semantic_units"": [{""unit_id"": ""SU-001""}]}","[""src/auth/login.py""]",'
        'true,"multi\nline, ""quoted"""\n'
        "T-2,,,,,,\n"
        "T-3,done,,,,,\n"
        'T-4,pending,5,"{broken",,,\n',
        encoding="utf-8",
    )
    result = run_cli("load", str(path), env=cli_environment(db), check=False)
    assert result.returncode == 1 and "CSV input needs --table" in result.stderr

    [summary] = loading.load_paths(db, [path], table="task_metadata")
    assert (summary.format, summary.loaded, summary.rejected) == ("csv", 2, 2)
    assert query(
        db,
        "select task_id, status, semantic_units_json, components_affected, human_reviewed, task_description"
        " from raw.task_metadata order by 1",
    ) == [
        (
            "T-1",
            "in_progress",
            {"semantic_units": [{"unit_id": "SU-001"}]},
            ["src/auth/login.py"],
            True,
            'multi\nline, "quoted"',
        ),
        ("T-2", "pending", None, None, False, None),
    ]
    reasons = {position: reason for position, _, reason, _ in rejects(db)}
    assert "status: input should be" in reasons["line 5"]
    assert "semantic_units_json: not valid JSON" in reasons["line 6"]


def test_load_records_loads_in_memory_records_with_the_same_rules(db):
    summary = loading.load_records(
        db, [task("T-5"), cost(task_id="T-5"), {"record": "task_metadata"}, "nonsense"], source="sdk"
    )
    assert (summary.loaded, summary.rejected) == (2, 2)
    assert [
        (p, r)
        for p, r, _, _ in query(
            db, "select position, record_type, reason, original_text from raw.rejected_records order by id"
        )
    ] == [
        ("record 3", "task_metadata"),
        ("record 4", None),
    ]
    again = loading.load_records(db, [task("T-5"), cost(task_id="T-5")], source="sdk")
    assert (again.loaded, again.duplicates) == (0, 2)


def test_a_login_acting_as_asp_writer_can_do_every_kind_of_load(db, tmp_path):
    user = f"loader_{uuid.uuid4().hex[:8]}"
    roles.grant_login(db, "asp_writer", user, "writer-pw")
    try:
        writer = db.model_copy(update={"user": user, "password": SecretStr("writer-pw")})
        first = jsonl(tmp_path / "1.jsonl", [task(), cost(), defect(), bootstrap(), "broken"])
        second = jsonl(
            tmp_path / "2.jsonl", [task(status="completed"), defect(resolution_notes="fixed"), cost(task_id=1)]
        )
        summaries = loading.load_paths(writer, [first, second])
        assert [(s.loaded, s.updated, s.rejected) for s in summaries] == [(4, 0, 1), (0, 2, 1)]
        [strict] = loading.load_paths(writer, [second], strict=True)
        assert strict.status == "rolled_back"
        # its ledger rows, in its name, closed by itself (row-level security); rejects with their bytes
        assert query(db, "select loaded_by, status from raw.loads order by load_id") == [
            (user, "complete"), (user, "complete"), (user, "rolled_back"),
        ]
        assert query(db, "select original_bytes from raw.rejected_records order by id") == [
            (b"broken",), (json.dumps(cost(task_id=1)).encode(),)]
    finally:
        with connection.connect(db, autocommit=True) as conn:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(user)))


def test_a_database_without_the_schema_is_refused_with_what_to_do(empty_db, tmp_path):
    result = run_cli("load", str(jsonl(tmp_path / "a.jsonl", [cost()])), env=cli_environment(empty_db), check=False)
    assert result.returncode == 1
    assert "run `asp-telemetry db upgrade` first" in " ".join(result.stderr.split())
