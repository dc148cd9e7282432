"""Property: every input line ends up loaded, skipped as a duplicate, or rejected; never lost,
never twice. Lines mix valid records (with repeats), records with one field broken, and text
that is not a record at all."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from load_support import cost, count, defect, query, task

from asp_telemetry import connection, loading

ROLES = ["Planning", "Design", "Code", "Test"]

valid_cost = st.builds(
    lambda execution, role, metric, value, ts: cost(
        metric, value, agent_role=role, metadata={"execution_id": f"E-{execution}"},
        timestamp=ts if ts else ...,
    ),
    st.integers(0, 6), st.sampled_from(ROLES), st.sampled_from(["Latency", "Tokens_In", "Memory_Usage", "Retries"]),
    st.one_of(st.integers(0, 10**6), st.decimals(0, 10**6, places=4).map(float)),
    st.sampled_from([None, "2026-01-05T10:00:00Z", "2026-01-06T08:30:00.5+02:00"]),
)
valid_task = st.builds(lambda n, status: task(f"T-{n}", status=status), st.integers(0, 3),
                       st.sampled_from(["pending", "in_progress", "completed"]))
valid_defect = st.builds(lambda n, fixed: defect(f"D-{n}", **({"resolution_notes": "fixed"} if fixed else {})),
                         st.integers(0, 3), st.booleans())
valid = st.one_of(valid_cost, valid_task, valid_defect)


def _break(record: dict, how: str, text: str) -> dict:
    broken = dict(record)
    if how == "drop":
        broken.pop(next(k for k in broken if k != "record"))
    elif how == "negative" and "metric_value" in broken:
        broken["metric_value"] = -1
    elif how == "role":
        broken["agent_role" if "agent_role" in broken else "phase_removed"] = text or "Nobody"
    else:
        broken["record"] = text or "nothing"
    return broken


invalid = st.builds(_break, valid, st.sampled_from(["drop", "negative", "role", "record"]),
                    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=8))
garbage = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip())
line = st.one_of(valid.map(json.dumps), valid.map(json.dumps), invalid.map(json.dumps), garbage)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line, min_size=1, max_size=40), batch_rows=st.integers(1, 12))
def test_every_line_is_loaded_skipped_or_rejected_never_lost(db, tmp_path_factory, lines, batch_rows):
    with connection.connect(db) as conn:
        conn.execute(
            "truncate raw.agent_cost_vector, raw.task_metadata, raw.defect_log, raw.rejected_records, raw.loads"
        )
    path = tmp_path_factory.mktemp("prop") / "lines.jsonl"
    path.write_text("".join(text + "\n" for text in lines), encoding="utf-8")

    [summary] = loading.load_paths(db, [path], batch_rows=batch_rows)

    assert summary.status == "complete"
    assert summary.loaded + summary.updated + summary.duplicates + summary.rejected == len(lines)
    rows = count(db, "agent_cost_vector") + count(db, "task_metadata") + count(db, "defect_log")
    assert rows == summary.loaded
    assert count(db, "rejected_records") == summary.rejected
    assert {position for (position,) in query(db, "select position from raw.rejected_records")} <= {
        f"line {n}" for n in range(1, len(lines) + 1)
    }

    [again] = loading.load_paths(db, [path], batch_rows=max(1, batch_rows // 2))
    assert (again.loaded, again.rejected) == (0, summary.rejected)
    assert again.updated + again.duplicates == summary.loaded + summary.updated + summary.duplicates
    assert count(db, "agent_cost_vector") + count(db, "task_metadata") + count(db, "defect_log") == rows
    assert count(db, "rejected_records") == summary.rejected
