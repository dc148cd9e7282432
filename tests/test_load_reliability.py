"""No input can lose a record: each hostile input of issue 11 between good records, with exact
counts of what went in, what loaded and what was rejected (nothing lost, read = loaded +
updated + duplicates + rejected), and rejects that keep the exact bytes they were read from."""

from __future__ import annotations

import gzip
import json
import os
from decimal import Decimal
from pathlib import Path

from load_support import bootstrap, cost, count, query, task
from otlp_support import Recorder, collector_json, request, span
from support import cli_environment, run_cli
from test_load_langfuse import META, generation, observation

from asp_telemetry import loading
from asp_telemetry.loading import FileLoadSummary


def _conserved(summary: FileLoadSummary, read: int) -> None:
    """`read` records went in; every one is accounted for, in the summary and the ledger."""
    assert summary.read == read, summary
    assert summary.loaded + summary.updated + summary.duplicates + summary.rejected == read, summary


def _ledger(db, summary: FileLoadSummary) -> tuple:
    return query(db, "select status, records_read, loaded, updated, duplicates, rejected from raw.loads"
                     " where load_id = %s", summary.load_id)[0]


def _stored_rejects(db) -> list[tuple]:
    """(line_number, position, reason, original_bytes, original_text), in input order."""
    return query(db, "select line_number, position, reason, original_bytes, original_text"
                     " from raw.rejected_records order by line_number, id")


def _tasks_csv(path: Path, rows: int, replace: dict[int, bytes] | None = None) -> tuple[Path, list[bytes]]:
    """A task_metadata CSV of `rows` rows (row n on line n + 1); `replace` swaps whole rows."""
    lines = [b"task_id,project_id,status,estimated_complexity,task_description"]
    lines += [f"T-{n:05d},P-1,pending,{n % 50},task number {n}".encode() for n in range(1, rows + 1)]
    for n, text in (replace or {}).items():
        lines[n] = text
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, lines


# -- CSV ---------------------------------------------------------------------------------------

def test_an_invalid_utf8_byte_costs_only_its_row(db, tmp_path):
    bad = b"T-05000,P-1,pending,7,caf\xff au lait"
    path, lines = _tasks_csv(tmp_path / "tasks.csv", 10_000, {5000: bad})

    [summary] = loading.load_paths(db, [path], table="task_metadata")

    _conserved(summary, 10_000)
    assert (summary.status, summary.loaded, summary.rejected) == ("complete", 9_999, 1)
    assert count(db, "task_metadata") == 9_999  # no row lost, no fragment row
    assert query(db, "select count(*) from raw.task_metadata where task_id !~ '^T-[0-9]{5}$'") == [(0,)]
    [(line, position, reason, original, text)] = _stored_rejects(db)
    assert (line, position) == (5001, "line 5001")
    assert reason == "not valid UTF-8: byte ff at line 5001, column 26"
    assert original == bad and text == "T-05000,P-1,pending,7,caf\\xff au lait"
    assert _ledger(db, summary) == ("complete", 10_000, 9_999, 0, 0, 1)


def test_a_bad_byte_near_the_header_costs_its_row_and_one_in_the_header_fails_the_file(db, tmp_path):
    path, _ = _tasks_csv(tmp_path / "early.csv", 100, {3: b"T-00003,P-\xfe,pending,1,x"})
    [summary] = loading.load_paths(db, [path], table="task_metadata")
    _conserved(summary, 100)
    assert (summary.loaded, summary.rejected) == (99, 1)

    header = tmp_path / "header.csv"
    header.write_bytes(b"task_id,sta\xfftus\nT-1,pending\n")
    [failed] = loading.load_paths(db, [header], table="task_metadata")
    assert failed.status == "failed"
    assert failed.error == "cannot read the CSV header: not valid UTF-8 (byte ff at line 1, column 12)"
    assert count(db, "task_metadata") == 99


def test_an_unclosed_quote_costs_its_line_and_the_rest_of_the_file_loads(db, tmp_path):
    broken = b'T-00050,P-1,pending,5,"an opening quote never closed'
    path, _ = _tasks_csv(tmp_path / "quote.csv", 100, {50: broken})

    [summary] = loading.load_paths(db, [path], table="task_metadata")

    _conserved(summary, 100)
    assert (summary.loaded, summary.rejected) == (99, 1)
    [(line, _, reason, original, _)] = _stored_rejects(db)
    assert line == 51 and original == broken
    assert reason == "unclosed quote: the quoted field that starts on this line runs to the end of the input"


def test_a_quoted_field_past_the_record_limit_is_cut_there_and_reading_starts_again(db, tmp_path):
    # A legitimate multi-line description, then an unclosed quote followed by 300 good rows:
    # with a 4 KB limit the quote swallows no more than 4 KB before it is rejected.
    path, _ = _tasks_csv(tmp_path / "long.csv", 400, {
        10: b'T-00010,P-1,pending,1,"two\nlines"',
        100: b'T-00100,P-1,pending,1,"never closed',
    })
    limits = loading.Limits(max_record_bytes=4096)

    [summary] = loading.load_paths(db, [path], table="task_metadata", limits=limits)

    _conserved(summary, 400)
    assert (summary.loaded, summary.rejected) == (399, 1)
    assert query(db, "select task_description from raw.task_metadata where task_id = 'T-00010'") == [("two\nlines",)]
    [(line, _, reason, _, _)] = _stored_rejects(db)
    assert line == 102 and "runs past the record size limit of 4,096 bytes" in reason


# -- the exact bytes of every reject -------------------------------------------------------------

def test_rejects_keep_their_exact_bytes_so_a_repaired_file_can_be_rebuilt(db, tmp_path):
    lines = [
        json.dumps(cost(metadata={"execution_id": "E-1"})).encode(),
        b'{"record": "task_metadata", "task_id": "T-\xff"}',  # not UTF-8
        b'{"record": "task_metadata", "task_id": "T-\x00"}',  # a raw NUL: not JSON
        b'{"record": "task_metadata", "task_id": "T-\\u0000"}',  # the JSON escape of NUL
        b"\tnot json at all, with a tab and a trailing CR\r",
        json.dumps(task("T-2")).encode(),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")  # Windows line breaks

    [summary] = loading.load_paths(db, [path])

    _conserved(summary, 6)
    assert (summary.loaded, summary.rejected) == (2, 4)
    stored = _stored_rejects(db)
    assert [(line, bytes(original)) for line, _, _, original, _ in stored] == [
        (2, lines[1]), (3, lines[2]), (4, lines[3]), (5, lines[4]),
    ]
    texts = [text for *_, text in stored]
    assert texts[1] != texts[2]  # a raw NUL and the escape \u0000 differ in the readable text too
    assert texts[1] == '{"record": "task_metadata", "task_id": "T-\\x00"}'
    assert texts[2] == '{"record": "task_metadata", "task_id": "T-\\u0000"}'
    # The repaired file: the good lines as they were, each reject's bytes fixed by hand.
    rebuilt = [lines[0], *(bytes(original) for *_, original, _ in stored), lines[5]]
    assert rebuilt == lines


def test_a_csv_reject_is_the_row_as_written_not_as_parsed_again(db, tmp_path):
    row = b'T-00002,P-1,done,"3","a ""quoted""\nmulti-line description"'
    path, _ = _tasks_csv(tmp_path / "t.csv", 3, {2: row})
    [summary] = loading.load_paths(db, [path], table="task_metadata")
    _conserved(summary, 3)
    [(line, _, reason, original, _)] = _stored_rejects(db)
    assert (line, bytes(original)) == (3, row)
    assert "status: input should be 'pending'" in reason


# -- traces that cannot be walked as trees ---------------------------------------------------------

def _agent(trace: int, span_id: int, parent: int | None, role: str = "Code", **attributes) -> dict:
    return span(trace, span_id, parent, "invoke_agent", gen_ai__agent__name=role, **attributes)


def test_a_cycle_of_span_parents_rejects_its_trace_and_the_rest_loads(db, tmp_path):
    cyclic = [
        span(1, 0xA, parent=0xB),
        span(1, 0xB, parent=0xA),
        _agent(1, 0xC, parent=0xA, gen_ai__usage__input_tokens=5),
        span(2, 0xD, parent=0xD),  # its own parent
        _agent(2, 0xE, parent=0xD),
    ]
    recorder = Recorder()
    with recorder.agent("Test", asp__task_id="T-GOOD", gen_ai__usage__input_tokens=7, gen_ai__usage__output_tokens=3):
        pass
    path = tmp_path / "cycle.jsonl"
    path.write_text(json.dumps(request(cyclic)) + "\n" + json.dumps(collector_json(recorder.finished())) + "\n")

    [summary] = loading.load_paths(db, [path])

    # The good execution's four rows (Latency, Tokens_In, Tokens_Out, Tool_Calls); one
    # reject for each trace that cannot be mapped.
    _conserved(summary, 4 + 2)
    assert (summary.format, summary.loaded, summary.rejected) == ("otlp", 4, 2)
    assert query(db, "select distinct task_id from raw.agent_cost_vector") == [("T-GOOD",)]
    reasons = {position: reason for _, position, reason, _, _ in _stored_rejects(db)}
    assert reasons == {
        f"trace {1:032x}": f"the parents of spans {0xA:016x}, {0xB:016x}, {0xC:016x} form a cycle: "
                           "the trace cannot be mapped and is rejected whole",
        f"trace {2:032x}": f"the parents of spans {0xD:016x}, {0xE:016x} form a cycle: "
                           "the trace cannot be mapped and is rejected whole",
    }


def test_a_chain_of_3000_spans_loads(db, tmp_path):
    # A workflow span with the task, then 3,000 levels; an agent every 100 levels (Code and
    # Test by turns), the last with a model call at the bottom.
    depth = 3000
    spans = [span(7, 1, None, asp__task_id="T-DEEP")]
    for level in range(2, depth + 1):
        if level % 100 == 0:
            spans.append(_agent(7, level, level - 1, role="Code" if level % 200 else "Test"))
        else:
            spans.append(span(7, level, level - 1))
    spans.append(span(7, depth + 1, depth, "chat", gen_ai__usage__input_tokens=11, gen_ai__usage__output_tokens=2))
    path = tmp_path / "deep.jsonl"
    path.write_text("".join(json.dumps(request([s])) + "\n" for s in reversed(spans)))  # children first

    [summary] = loading.load_paths(db, [path])

    executions = len(range(100, depth + 1, 100))
    rows = executions * 2 + 2  # Latency and Tool_Calls each; the last also Tokens_In and Tokens_Out
    _conserved(summary, rows)
    assert (summary.status, summary.loaded, summary.rejected) == ("complete", rows, 0)
    assert query(db, "select count(distinct task_id), min(task_id) from raw.agent_cost_vector") == [(1, "T-DEEP")]
    assert query(db, "select metric_value from raw.agent_cost_vector where metric_type = 'Tokens_In'") == [
        (Decimal("11"),)
    ]


def test_a_langfuse_chain_of_3000_observations_and_a_cycle(db, tmp_path):
    depth = 3000
    chain = [observation("obs-0", "AGENT", "Code", "2026-01-05T10:00:00Z", "2026-01-05T10:00:05Z")]
    chain += [observation(f"obs-{n}", "SPAN", "step", "2026-01-05T10:00:01Z", "2026-01-05T10:00:02Z", f"obs-{n - 1}")
              for n in range(1, depth)]
    chain.append(generation("gen-deep", f"obs-{depth - 1}", "2026-01-05T10:00:01Z", "claude-sonnet-4", 40, 9, 0.5))
    cycle = [
        {**observation("loop-a", "SPAN", "a", "2026-01-05T11:00:00Z", parent="loop-b"), "traceId": "trace-loop"},
        {**observation("loop-b", "AGENT", "Test", "2026-01-05T11:00:00Z", parent="loop-a"), "traceId": "trace-loop"},
    ]
    path = tmp_path / "deep.json"
    path.write_text(json.dumps({"data": chain + cycle, "meta": META}))

    [summary] = loading.load_paths(db, [path], format="langfuse")

    _conserved(summary, 5 + 1)  # Latency, Tokens_In, Tokens_Out, API_Cost, Tool_Calls; the looped trace
    assert (summary.loaded, summary.rejected) == (5, 1)
    assert query(db, "select metric_value from raw.agent_cost_vector where metric_type = 'Tokens_In'") == [
        (Decimal("40"),)
    ]
    [(_, position, reason, _, _)] = _stored_rejects(db)
    assert position == "trace trace-loop" and "form a cycle" in reason


# -- values out of range ---------------------------------------------------------------------------

def test_values_out_of_range_are_rejected_one_record_at_a_time(db, tmp_path):
    lines = [
        cost(metadata={"execution_id": "E-1"}),
        cost(timestamp="0001-01-01T00:00:00+05:00", metadata={"execution_id": "E-2"}),
        bootstrap(measurement_period_end="9999-12-31T23:00:00-05:00"),
        task("T-3", created_at="9999-12-31T23:59:59+00:00"),  # the last instant: in range
        cost(timestamp="0001-01-01T05:00:00+05:00", metadata={"execution_id": "E-4"}),  # year 1 in UTC
        cost(value=10**400, metadata={"execution_id": "E-5"}),
        task("T-6", estimated_complexity=2**63),
    ]
    path = tmp_path / "ranges.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    [summary] = loading.load_paths(db, [path])

    _conserved(summary, 7)
    assert (summary.status, summary.loaded, summary.rejected) == ("complete", 3, 4)
    reasons = [reason for _, _, reason, _, _ in _stored_rejects(db)]
    assert reasons == [
        "timestamp: input should be a time between 0001-01-01 and 9999-12-31 in UTC (got '0001-01-01T00:00:00+05:00')",
        "measurement_period_end: input should be a time between 0001-01-01 and 9999-12-31 in UTC"
        " (got '9999-12-31T23:00:00-05:00')",
        "metric_value: input should be less than 1000000000000 (got 1" + "0" * 56 + "...)",
        "estimated_complexity: input should be less than or equal to 2147483647 (got 9223372036854775808)",
    ]


def test_an_otlp_time_out_of_range_rejects_its_execution(db, tmp_path):
    spans = [
        _agent(3, 1, None, gen_ai__usage__input_tokens=1),
        {**_agent(3, 2, None), "startTimeUnixNano": str(2**70), "endTimeUnixNano": str(2**70 + 5)},
        {**_agent(3, 3, None), "startTimeUnixNano": "0"},
    ]
    path = tmp_path / "times.jsonl"
    path.write_text(json.dumps(request(spans)) + "\n")
    [summary] = loading.load_paths(db, [path])
    _conserved(summary, 3 + 2)  # Latency, Tokens_In, Tool_Calls; two rejects
    reasons = sorted(reason for _, _, reason, _, _ in _stored_rejects(db))
    assert reasons == [
        "startTimeUnixNano: 1180591620717411303424 is not a time between years 1 and 9999",
        "startTimeUnixNano: the agent span has no start time",
    ]


def test_a_directory_load_goes_on_whatever_happens_to_one_file(db, tmp_path):
    directory = tmp_path / "exports"
    directory.mkdir()
    (directory / "1-good.jsonl").write_text(json.dumps(task("T-1")) + "\n")
    (directory / "2-broken.jsonl.gz").write_bytes(b"\x1f\x8b not gzip at all")
    agent = observation("o", "AGENT", "Code", "2026-01-05T10:00:00Z")
    (directory / "3-huge.json").write_text(json.dumps({"data": [agent] * 50, "meta": META}))
    (directory / "4-ranges.jsonl").write_text(json.dumps(cost(timestamp="0001-01-01T00:00:00+05:00")) + "\n"
                                              + json.dumps(task("T-4")) + "\n")
    (directory / "5-good.jsonl").write_text(json.dumps(task("T-5")) + "\n")

    summaries = loading.load_paths(db, [directory], limits=loading.Limits(max_document_bytes=4096))

    assert [(Path(s.source).name, s.status, s.loaded, s.rejected) for s in summaries] == [
        ("1-good.jsonl", "complete", 1, 0),
        ("2-broken.jsonl.gz", "failed", 0, 0),
        ("3-huge.json", "failed", 0, 0),
        ("4-ranges.jsonl", "complete", 1, 1),
        ("5-good.jsonl", "complete", 1, 0),
    ]
    assert "larger than 4,096 bytes" in summaries[2].error and "--max-document-bytes" in summaries[2].error
    assert query(db, "select task_id from raw.task_metadata order by 1") == [("T-1",), ("T-4",), ("T-5",)]


# -- records and inputs of any size ------------------------------------------------------------------

def test_a_record_over_the_size_limit_is_rejected_with_an_excerpt(db, tmp_path):
    long_line = json.dumps(task("T-LONG", task_description="x" * 20_000)).encode()
    path = tmp_path / "long.jsonl"
    lines = [json.dumps(task("T-1")).encode(), long_line, json.dumps(task("T-2")).encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")

    result = run_cli("load", "--max-record-bytes", "10000", str(path), env=cli_environment(db))

    assert f"{path}: 3 read: 2 loaded, 0 duplicates skipped, 1 rejected" in " ".join(result.stdout.split())
    [(line, _, reason, original, _)] = _stored_rejects(db)
    assert line == 2 and bytes(original) == long_line[:1024]
    assert reason == (f"a record of {len(long_line):,} bytes, longer than the limit of 10,000 bytes "
                      "(--max-record-bytes); its first 1,024 bytes are kept")


def test_a_gzip_of_one_enormous_line_costs_one_reject(db, tmp_path):
    size = 64 << 20  # 64 MiB of zeros compress to about 64 KiB
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(json.dumps(task("T-BEFORE")).encode() + b"\n")
        chunk = b"\x00" * (1 << 20)
        for _ in range(size >> 20):
            handle.write(chunk)
        handle.write(b"\n" + json.dumps(task("T-AFTER")).encode() + b"\n")
    assert path.stat().st_size < 1 << 20

    [summary] = loading.load_paths(db, [path])

    _conserved(summary, 3)
    assert (summary.loaded, summary.rejected) == (2, 1)
    [(line, _, reason, original, text)] = _stored_rejects(db)
    assert line == 2 and bytes(original) == b"\x00" * 1024 and text == "\\x00" * 1024
    assert reason.startswith(f"a record of {size:,} bytes, longer than the limit of {8 << 20:,} bytes")


def test_a_batch_is_bounded_in_records_and_in_bytes(tmp_path):
    from asp_telemetry.loading import vocabulary
    from asp_telemetry.loading.batcher import Batcher
    from asp_telemetry.loading.formats import native
    from asp_telemetry.loading.records import RecordValidator

    small = json.dumps(task("T-S")).encode()
    big = json.dumps(task("T-B", task_description="y" * 300_000)).encode()
    data = b"\n".join([small] * 2500 + [big] * 40 + [small] * 10) + b"\n"
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(data)
    batcher = Batcher(RecordValidator(vocabulary.load()), "mixed", batch_rows=1000, batch_bytes=2 << 20)
    with path.open("rb") as stream:
        batches = batcher.batches(native.parse(stream, 1 << 20))
        sizes = [(len(batch), sum(len(item.text) for item in batch.items)) for batch in batches]
    assert sum(n for n, _ in sizes) == 2550
    assert max(n for n, _ in sizes) == 1000  # the small records: batches of batch_rows
    assert max(nbytes for _, nbytes in sizes) < (2 << 20) + len(big)  # the large ones: of batch_bytes
    assert len(sizes) >= 2 + 40 * len(big) // (2 << 20)


def test_the_first_batches_are_small_so_that_writing_starts_early(tmp_path):
    from asp_telemetry.loading import vocabulary
    from asp_telemetry.loading.batcher import FIRST_BATCH_ROWS, Batcher
    from asp_telemetry.loading.formats import native
    from asp_telemetry.loading.records import RecordValidator

    path = tmp_path / "many.jsonl"
    path.write_bytes(b"".join(json.dumps(task(f"T-{n}")).encode() + b"\n" for n in range(30_000)))
    batcher = Batcher(RecordValidator(vocabulary.load()), "many", batch_rows=10_000)
    with path.open("rb") as stream:
        sizes = [len(batch) for batch in batcher.batches(native.parse(stream, 1 << 20))]
    # doubling from the first batch's size up to batch_rows, then batch_rows; nothing lost
    first = FIRST_BATCH_ROWS
    assert sizes[:3] == [first, 2 * first, 10_000] and sum(sizes) == 30_000


# -- names and links -------------------------------------------------------------------------------

def test_a_file_name_that_is_not_utf8_does_not_stop_a_directory_load(db, tmp_path):
    directory = tmp_path / "exports"
    directory.mkdir()
    odd = os.fsdecode(bytes(directory) + b"/caf\xe9.jsonl")
    Path(odd).write_text(json.dumps(task("T-ODD")) + "\n" + "not json\n")
    (directory / "z-after.jsonl").write_text(json.dumps(task("T-AFTER")) + "\n")

    result = run_cli("load", str(directory), env=cli_environment(db))

    shown = f"{directory}/caf\\xe9.jsonl"
    assert f"{shown}: 2 read: 1 loaded, 0 duplicates skipped, 1 rejected" in " ".join(result.stdout.split())
    assert count(db, "task_metadata") == 2
    assert query(db, "select source from raw.loads order by load_id") == [(shown,), (str(directory / "z-after.jsonl"),)]
    assert query(db, "select source from raw.rejected_records") == [(shown,)]


def test_links_out_of_the_loaded_directory_are_not_followed(db, tmp_path):
    outside = tmp_path / "outside.jsonl"
    outside.write_text(json.dumps(task("T-OUTSIDE")) + "\n")
    directory = tmp_path / "exports"
    (directory / "sub").mkdir(parents=True)
    (directory / "sub" / "real.jsonl").write_text(json.dumps(task("T-INSIDE")) + "\n")
    (directory / "passwd").symlink_to("/etc/passwd")
    (directory / "outside.jsonl").symlink_to(outside)
    (directory / "inside.jsonl").symlink_to(directory / "sub" / "real.jsonl")
    (directory / "loop").symlink_to(directory)

    result = run_cli("load", str(directory), env=cli_environment(db))

    output = " ".join(result.stdout.split())
    not_followed = "outside the directory: not followed"
    assert f"{directory / 'passwd'}: skipped, a symbolic link to /etc/passwd, {not_followed}" in output
    assert f"{directory / 'outside.jsonl'}: skipped, a symbolic link to {outside}, outside the directory" in output
    assert f"{directory / 'loop'}: skipped, a symbolic link to a directory: not followed" in output
    assert query(db, "select task_id from raw.task_metadata") == [("T-INSIDE",)]  # once, by two names
    assert count(db, "rejected_records") == 0  # nothing of /etc/passwd
    assert query(db, "select count(*) from raw.loads") == [(2,)]

    (directory / "passwd").unlink()
    summaries = loading.load_paths(db, [directory], follow_links=True)
    [followed] = [s for s in summaries if s.source.endswith("outside.jsonl")]
    assert (followed.status, followed.loaded) == ("complete", 1)


# -- detection and types -----------------------------------------------------------------------------

def test_a_langfuse_page_larger_than_the_head_is_detected_whatever_its_key_order(db, tmp_path):
    data = []
    for n in range(200):
        data.append(observation(f"agent-{n}", "AGENT", "Code", "2026-01-05T10:00:00Z", "2026-01-05T10:00:01Z",
                                metadata={"task_id": f"T-{n}", "note": "x" * 200}))
        data.append(generation(f"gen-{n}", f"agent-{n}", "2026-01-05T10:00:00.5Z", "claude-sonnet-4", 10, 5, 0.01))
    path = tmp_path / "observations.json"
    path.write_text(json.dumps({"data": data, "meta": {**META, "totalItems": 400}}))  # "data" first
    assert path.stat().st_size > 139_000

    [summary] = loading.load_paths(db, [path])

    assert (summary.format, summary.status, summary.rejected) == ("langfuse", "complete", 0)
    _conserved(summary, 200 * 5)
    assert query(db, "select count(distinct task_id) from raw.agent_cost_vector") == [(200,)]


def test_values_are_coerced_only_where_no_one_could_be_surprised(db, tmp_path):
    lines = [
        # accepted: numbers as text, integral numbers, booleans as text (what CSV holds)
        task("T-1", estimated_complexity="18", defect_density="0.25", human_reviewed="true"),
        task("T-2", estimated_complexity=18.0, human_reviewed="F"),
        # refused: a timestamp as seconds since 1970 (a number or digits), true as a number,
        # yes/no or 1/0 as booleans, a fraction as an integer
        task("T-3", created_at=1767225600),
        task("T-4", created_at="1767225600"),
        cost(value=True),
        task("T-5", human_reviewed="yes"),
        task("T-6", human_reviewed=1),
        task("T-7", estimated_complexity=18.5),
        task("T-8", estimated_complexity=True),
    ]
    path = tmp_path / "types.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    [summary] = loading.load_paths(db, [path])

    _conserved(summary, 9)
    assert (summary.loaded, summary.rejected) == (2, 7)
    assert query(db, "select task_id, estimated_complexity, defect_density, human_reviewed from raw.task_metadata"
                     " order by 1") == [("T-1", 18, Decimal("0.250"), True), ("T-2", 18, None, False)]
    assert [reason for _, _, reason, _, _ in _stored_rejects(db)] == [
        "created_at: input should be an ISO 8601 time with a UTC offset, such as 2026-01-05T10:00:00Z (got 1767225600)",
        "created_at: input should be an ISO 8601 time with a UTC offset, such as 2026-01-05T10:00:00Z"
        " (got '1767225600')",
        "metric_value: input should be a number (got True)",
        "human_reviewed: input should be true or false (got 'yes')",
        "human_reviewed: input should be true or false (got 1)",
        "estimated_complexity: input should be an integer (got 18.5)",
        "estimated_complexity: input should be an integer (got True)",
    ]
    assert query(db, "select count(*) from raw.task_metadata where created_at < '2000-01-01'") == [(0,)]


def test_csv_cells_follow_the_same_rules(db, tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text(
        "task_id,created_at,estimated_complexity,human_reviewed\n"
        "T-1,2026-01-05T10:00:00Z,18,t\n"
        "T-2,1767225600,18,true\n"
        "T-3,2026-01-05T10:00:00Z,18,yes\n"
        "T-4,2026-01-05T10:00:00Z,eighteen,false\n",
        encoding="utf-8",
    )
    [summary] = loading.load_paths(db, [path], table="task_metadata")
    _conserved(summary, 4)
    assert (summary.loaded, summary.rejected) == (1, 3)
    assert query(db, "select task_id, estimated_complexity, human_reviewed from raw.task_metadata") == [
        ("T-1", 18, True)
    ]


def test_the_ledger_and_the_summary_line_carry_the_counts_of_every_file(db, tmp_path):
    path = tmp_path / "day.jsonl"
    path.write_text("\n".join([json.dumps(task("T-1")), json.dumps(task("T-1", status="completed")),
                               json.dumps(task("T-1", status="completed")), "broken", ""]) + "\n")
    result = run_cli("load", str(path), env=cli_environment(db))
    assert f"{path}: 4 read: 1 loaded, 1 updated, 1 duplicates skipped, 1 rejected" in " ".join(result.stdout.split())
    assert query(db, "select records_read, loaded, updated, duplicates, rejected, status from raw.loads") == [
        (4, 1, 1, 1, 1, "complete")
    ]

