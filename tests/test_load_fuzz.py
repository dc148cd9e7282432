"""Property tests (hypothesis) over every format's parser and mapper: arbitrary bytes,
truncations, duplicated and cyclic parents, chains, extreme numbers and dates.

For every input: no exception escapes, every record read is accounted for (parsers: each
line or span ends up in exactly one item; loads: read = loaded + updated + duplicates +
rejected, and the tables hold what the summary says), and the load ends within its time limit
(a bound far above what any example needs, so it can only fail on a hang). The examples are
derandomized: the same ones every run, so the suite is green every time it is green once."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from load_support import count, query

from asp_telemetry import connection, loading
from asp_telemetry.loading import vocabulary
from asp_telemetry.loading.batcher import Batcher
from asp_telemetry.loading.formats import FormatError, Item, csv, langfuse, native, otlp
from asp_telemetry.loading.records import RecordValidator

TIME_LIMIT = loading.Limits(max_record_bytes=4096, max_document_bytes=1 << 20, time_limit_s=600)
PARSERS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LOADS = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])
VALIDATOR = RecordValidator(vocabulary.load())
ROLES = VALIDATOR.vocabulary.roles


def _stream(data: bytes) -> io.BufferedReader:
    return io.BufferedReader(io.BytesIO(data))


def _validated(items: list[Item]) -> tuple[int, int]:
    """Every item through the validator and the batcher: (items accepted, items rejected)."""
    batcher = Batcher(VALIDATOR, "fuzz", batch_rows=7)
    batches = list(batcher.batches(iter(items)))
    return sum(len(b.items) for b in batches), sum(len(b.rejects) for b in batches)


# -- values at the edges ------------------------------------------------------------------------

EXTREME_NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63, 10**11, 0.00005, 1e308, "NaN", "Infinity", "1e400", "0x10"]),
    st.booleans(), st.none(), st.text(max_size=6),
)
EXTREME_TIMES = st.one_of(
    st.sampled_from([
        "0001-01-01T00:00:00+05:00", "0001-01-01T05:00:00+05:00", "9999-12-31T23:00:00-05:00",
        "9999-12-31T23:59:59.999999Z", "2026-02-30T10:00:00Z", "2026-01-05 10:00:00", "2026-01-05T10:00:00Z",
        "1767225600", "", "T", "2026-01-05T25:61:00+99:00",
    ]),
    st.integers(min_value=-(2**64), max_value=2**64), st.floats(), st.booleans(), st.none(),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
)
COLUMNS = {
    "agent_cost_vector": ["timestamp", "task_id", "agent_role", "agent_iteration", "metric_type", "metric_value",
                          "metric_unit", "metadata"],
    "task_metadata": ["task_id", "created_at", "completed_at", "estimated_complexity", "defect_density",
                      "human_reviewed", "status", "components_affected"],
    "defect_log": ["defect_id", "task_id", "defect_type", "phase_injected", "phase_removed", "description",
                   "line_number", "created_at", "resolved_at", "flagged_by_agent"],
    "bootstrap_metrics": ["measurement_period_start", "measurement_period_end", "capability_name",
                          "capability_mode", "tasks_completed", "tasks_required_for_graduation",
                          "primary_metric_name", "primary_metric_value", "primary_metric_target"],
}
VALUES = {
    "timestamp": EXTREME_TIMES, "created_at": EXTREME_TIMES, "completed_at": EXTREME_TIMES,
    "resolved_at": EXTREME_TIMES, "measurement_period_start": EXTREME_TIMES, "measurement_period_end": EXTREME_TIMES,
    "agent_role": st.sampled_from(["Code", "Test", "Coder", ""]), "phase_injected": st.sampled_from(["Code", "Design"]),
    "phase_removed": st.sampled_from(["Test", "Code"]), "metric_type": st.sampled_from(["Latency", "Tokens_In", "X"]),
    "defect_type": st.sampled_from(["4_Hallucination", "9_Nope"]), "status": st.sampled_from(["pending", "done"]),
    "capability_mode": st.sampled_from(["Shadow", "Graduated"]),
    "metadata": st.one_of(st.none(), st.dictionaries(st.text(max_size=3), EXTREME_NUMBERS, max_size=3)),
    "components_affected": st.one_of(st.none(), st.lists(st.text(max_size=4), max_size=3), st.text(max_size=4)),
}


@st.composite
def native_records(draw) -> dict[str, Any]:
    table = draw(st.sampled_from(sorted(COLUMNS)))
    record: dict[str, Any] = {"record": table}
    for column in COLUMNS[table]:
        if draw(st.integers(0, 9)) == 0:
            continue  # left out
        record[column] = draw(VALUES.get(column, st.one_of(st.text(min_size=1, max_size=8), EXTREME_NUMBERS)))
    return record


def _json_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, default=str, allow_nan=True).encode()


native_lines = st.lists(
    st.one_of(
        native_records().map(_json_line),
        native_records().map(_json_line).flatmap(lambda line: st.integers(0, len(line)).map(lambda n: line[:n])),
        st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
        st.just(b"x" * 5000),  # over the fuzz limit of 4,096 bytes
        st.just(b""),
    ),
    max_size=30,
)


# -- native --------------------------------------------------------------------------------------

@PARSERS
@given(lines=native_lines, line_break=st.sampled_from([b"\n", b"\r\n"]), final_break=st.booleans())
def test_native_every_line_is_one_item(lines, line_break, final_break):
    data = line_break.join(lines) + (line_break if final_break and lines else b"")
    items = list(native.parse(_stream(data), TIME_LIMIT.max_record_bytes))
    physical = data.split(b"\n")
    if physical and physical[-1] == b"":
        physical.pop()
    expected = [n for n, line in enumerate(physical, 1) if line.strip()]
    assert [item.line for item in items] == expected
    for item in items:
        line = physical[item.line - 1].removesuffix(b"\r")
        assert item.original_bytes() == (line if len(line) <= 4096 else line[:1024])
    accepted, rejected = _validated(items)
    assert accepted + rejected == len(items)


@PARSERS
@given(data=st.binary(max_size=600))
def test_native_arbitrary_bytes(data):
    items = list(native.parse(_stream(data), 64))
    accepted, rejected = _validated(items)
    assert accepted + rejected == len(items) == sum(1 for line in data.split(b"\n") if line.strip())


# -- CSV -----------------------------------------------------------------------------------------

CSV_CELLS = st.one_of(
    st.text(max_size=6).map(lambda t: t.encode()),
    st.sampled_from([b'"quoted, with comma"', b'"multi\nline"', b'"unclosed', b'a"b', b'""', b"\xff\xfe", b"\x00",
                     b'"esc""aped"', b"2026-01-05T10:00:00Z", b"1767225600", b"yes", b"true", b"18", b"-1",
                     b"0001-01-01T00:00:00+05:00", b'{"a": 1}', b"[1,", b"\r"]),
    st.binary(max_size=5),
)
csv_rows = st.lists(st.lists(CSV_CELLS, min_size=0, max_size=5).map(lambda cells: b",".join(cells)), max_size=25)


def _covered_lines(items: list[Item]) -> list[int]:
    covered = []
    for item in items:
        original = item.original_bytes()
        span = 0 if item.error and item.error.startswith("a record of") else original.count(b"\n")
        covered.extend(range(item.line, item.line + span + 1))
    return covered


@PARSERS
@given(rows=csv_rows, header=st.sampled_from([b"task_id,status,created_at,human_reviewed,semantic_units_json",
                                               b"task_id,estimated_complexity", b"\xefbad", b'"task_id', b""]),
       line_break=st.sampled_from([b"\n", b"\r\n"]))
def test_csv_every_line_is_in_one_row_or_blank(rows, header, line_break):
    data = line_break.join([header, *rows]) + line_break
    try:
        items = list(csv.parse(_stream(data), "task_metadata", 256))
    except FormatError as exc:
        assert "header" in str(exc)
        return
    accepted, rejected = _validated(items)
    assert accepted + rejected == len(items)
    covered = _covered_lines(items)
    assert len(covered) == len(set(covered)), "a line in two rows"
    if b'"' in header:
        return  # a quote in the header may join lines to it: where it ends is the csv module's to say
    physical = data.split(b"\n")[:-1]
    header_lines = 1
    assert all(header_lines < n <= len(physical) for n in covered)
    for number, line in enumerate(physical, 1):
        if number > header_lines and number not in covered:  # a blank row only, never one that holds anything
            assert not line.decode("utf-8", "replace").replace('"', "").replace(",", "").strip(), (number, line)


# -- OTLP ----------------------------------------------------------------------------------------

OPERATIONS = st.sampled_from([None, "invoke_agent", "invoke_agent", "chat", "execute_tool", "embeddings"])


@st.composite
def otlp_spans(draw) -> list[dict[str, Any]]:
    """Spans of a few traces: parents anywhere (themselves, cycles, missing), duplicated
    spans, odd times and attribute values."""
    count_ = draw(st.integers(1, 14))
    spans = []
    for index in range(count_):
        trace = draw(st.integers(1, 3))
        parent = draw(st.one_of(st.none(), st.integers(0, count_ + 1)))
        attributes = {"gen_ai.operation.name": draw(OPERATIONS),
                      "gen_ai.agent.name": draw(st.sampled_from(["Code", "Test", "Nobody"])),
                      "gen_ai.usage.input_tokens": draw(EXTREME_NUMBERS),
                      "asp.task_id": draw(st.one_of(st.none(), st.text(max_size=3), st.integers()))}
        spans.append({
            "traceId": f"{trace:032x}",
            "spanId": f"{index + 1:016x}",
            **({"parentSpanId": f"{parent:016x}"} if parent is not None else {}),
            "name": "s",
            "startTimeUnixNano": draw(st.one_of(st.integers(-(2**80), 2**80), st.just("1767607200000000000"),
                                                st.text(max_size=4), st.none())),
            "endTimeUnixNano": draw(st.one_of(st.integers(0, 2**70), st.none())),
            "attributes": [{"key": key, "value": _any_value(value)} for key, value in attributes.items()
                           if value is not None],
        })
    return spans + draw(st.lists(st.sampled_from(spans), max_size=3))  # exported twice


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": value}
    if isinstance(value, float):
        return {"doubleValue": value if math.isfinite(value) else str(value)}  # protobuf JSON: "NaN"
    return {"stringValue": str(value)}


def _readable(span: dict[str, Any]) -> bool:
    """Whether the loader can read the span at all: its times are integers (that a JSON parser
    reads as integers, not as floats: 64 bits), or absent."""
    for key in ("startTimeUnixNano", "endTimeUnixNano"):
        value = span.get(key)
        if isinstance(value, int) and not -(2**63) <= value < 2**64:
            return False
        if value not in (None, "", 0) and not isinstance(value, int):
            try:
                int(value)
            except ValueError:
                return False
    return all(-(2**63) <= a["value"]["intValue"] < 2**64 for a in span["attributes"] if "intValue" in a["value"])


def _expected_otlp(spans: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """Computed here independently: the traces with a parent cycle, and the agent spans that
    are executions of their own (not inside an agent span of the same agent)."""
    by_trace: dict[str, dict[str, dict]] = {}
    for span in filter(_readable, spans):
        by_trace.setdefault(span["traceId"], {})[span["spanId"]] = span
    cyclic, executions = set(), set()
    for trace, members in by_trace.items():
        def parent_of(span, members=members):
            return members.get(span.get("parentSpanId"))

        for span in members.values():
            seen, current = set(), span
            while current is not None and current["spanId"] not in seen:
                seen.add(current["spanId"])
                current = parent_of(current)
            if current is not None:
                cyclic.add(trace)
        if trace in cyclic:
            continue
        for span in members.values():
            attrs = {a["key"]: a["value"] for a in span["attributes"]}
            if attrs.get("gen_ai.operation.name") != {"stringValue": "invoke_agent"}:
                continue
            above = parent_of(span)
            while above is not None and {a["key"]: a["value"] for a in above["attributes"]}.get(
                    "gen_ai.operation.name") != {"stringValue": "invoke_agent"}:
                above = parent_of(above)
            same = above is not None and {a["key"]: a["value"] for a in above["attributes"]}.get(
                "gen_ai.agent.name") == attrs.get("gen_ai.agent.name")
            if not same:
                executions.add(span["spanId"])
    return cyclic, executions


def _otlp_document(spans: list[dict[str, Any]]) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()


@PARSERS
@given(spans=otlp_spans(), junk=st.lists(st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"")), max_size=3),
       one_line_per_span=st.booleans())
def test_otlp_every_agent_span_is_one_execution_or_its_trace_one_reject(spans, junk, one_line_per_span):
    groups = [[span] for span in spans] if one_line_per_span else [spans]
    # A line that is not JSON to a strict parser (an integer beyond 64 bits) is one reject, spans and all.
    readable = [group for group in groups if _strict_json(_otlp_document(group))]
    data = b"\n".join([_otlp_document(group) for group in groups] + junk) + b"\n"
    items = list(otlp.parse(_stream(data), 1 << 20))
    cyclic, executions = _expected_otlp([span for group in readable for span in group])
    trace_rejects = {item.position.removeprefix("trace ") for item in items
                     if (item.position or "").startswith("trace ")}
    assert trace_rejects == cyclic
    # Executions are at "line N, span <id>"; a span that cannot be read at all, "line N, span #<n>".
    mapped = {item.position.rsplit("span ", 1)[1] for item in items if ", span " in (item.position or "")
              and not item.position.rsplit("span ", 1)[1].startswith("#")}
    assert mapped == executions
    assert all(item.payload or item.error for item in items)
    accepted, rejected = _validated(items)
    assert accepted + rejected == len(items)


# -- Langfuse ------------------------------------------------------------------------------------

@st.composite
def langfuse_observations(draw) -> list[Any]:
    count_ = draw(st.integers(1, 12))
    observations: list[Any] = []
    for index in range(count_):
        observations.append({
            "id": draw(st.one_of(st.just(f"o-{index}"), st.integers(0, 3), st.none(),
                                 st.lists(st.integers(), max_size=1))),
            "traceId": draw(st.sampled_from(["t-1", "t-2", None])),
            "parentObservationId": draw(st.one_of(st.none(), st.integers(0, count_).map(lambda n: f"o-{n}"))),
            "type": draw(st.sampled_from(["AGENT", "SPAN", "GENERATION", "TOOL", "EVENT", "odd", None])),
            "name": draw(st.one_of(st.sampled_from(["Code", "Test", "llm"]),
                                   st.lists(st.text(max_size=2), max_size=1))),
            "startTime": draw(EXTREME_TIMES),
            "endTime": draw(EXTREME_TIMES),
            "metadata": draw(st.one_of(st.none(), st.text(max_size=4), st.fixed_dictionaries({}, optional={
                "agent_role": st.sampled_from(["Code", "Nobody"]), "task_id": EXTREME_NUMBERS,
                "latency_ms": EXTREME_NUMBERS, "defect_id": st.text(max_size=3),
                "defect_type": st.just("4_Hallucination"),
                "phase_injected": st.just("Code"), "phase_removed": st.just("Test"), "created_at": EXTREME_TIMES,
            }))),
            "usageDetails": draw(st.one_of(st.none(), st.fixed_dictionaries({"input": EXTREME_NUMBERS}))),
            "costDetails": draw(st.one_of(st.none(), st.fixed_dictionaries({"total": EXTREME_NUMBERS}))),
        })
    return observations + draw(st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none()), max_size=2))


def _key(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _expected_langfuse_cycles(observations: list[Any]) -> set[str]:
    """The traces whose observations' parents form a cycle, computed here independently."""
    by_id = {_key(o.get("id")): o for o in observations if isinstance(o, dict) and _key(o.get("id"))}
    cyclic = set()
    for observation in by_id.values():
        seen, current = set(), observation
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            current = by_id.get(_key(current.get("parentObservationId")) or "")
        if current is not None:
            cyclic.add(_key(observation.get("traceId")) or "(none)")
    return cyclic


@PARSERS
@given(observations=langfuse_observations(), shape=st.sampled_from(["page", "array", "lines"]))
def test_langfuse_every_observation_is_mapped_rejected_or_in_a_rejected_trace(observations, shape):
    if shape == "page":
        data = json.dumps({"data": observations, "meta": {}}, default=str).encode()
    elif shape == "array":
        data = json.dumps(observations, default=str).encode()
    else:
        data = b"".join(json.dumps(o, default=str).encode() + b"\n" for o in observations)
    items = list(langfuse.parse(_stream(data), {}, ROLES, 1 << 20))
    assert all(item.payload or item.error for item in items)
    accepted, rejected = _validated(items)
    assert accepted + rejected == len(items)
    if shape != "lines" and _strict_json(data):
        trace_rejects = {item.position.removeprefix("trace ") for item in items
                         if (item.position or "").startswith("trace ")}
        assert trace_rejects == _expected_langfuse_cycles(observations)


def _strict_json(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


# -- whole loads: conservation in the database ---------------------------------------------------

def _fresh(db) -> None:
    with connection.connect(db) as conn:
        conn.execute("truncate raw.agent_cost_vector, raw.task_metadata, raw.defect_log, raw.bootstrap_metrics,"
                     " raw.rejected_records, raw.loads")


def _load_and_check(db, path, format: str, table: str | None = None) -> None:
    [summary] = loading.load_paths(db, [path], format=format, table=table, limits=TIME_LIMIT, batch_rows=5)
    assert summary.status in ("complete", "failed"), summary  # never interrupted: no hang, no lost connection
    if summary.status == "failed":
        assert summary.error and "bug" not in summary.error, summary
    assert summary.read == summary.loaded + summary.updated + summary.duplicates + summary.rejected, summary
    rows = sum(count(db, table) for table in ("agent_cost_vector", "task_metadata", "defect_log", "bootstrap_metrics"))
    assert rows == summary.loaded
    assert count(db, "rejected_records") == summary.rejected
    assert query(db, "select status, records_read from raw.loads") == [(summary.status, summary.read)]


@LOADS
@given(lines=native_lines)
def test_native_loads_conserve_every_record(db, tmp_path_factory, lines):
    _fresh(db)
    path = tmp_path_factory.mktemp("fuzz") / "lines.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    _load_and_check(db, path, "native")


@LOADS
@given(rows=csv_rows)
def test_csv_loads_conserve_every_record(db, tmp_path_factory, rows):
    _fresh(db)
    path = tmp_path_factory.mktemp("fuzz") / "tasks.csv"
    path.write_bytes(b"\n".join([b"task_id,status,created_at,human_reviewed,estimated_complexity", *rows]) + b"\n")
    _load_and_check(db, path, "csv", "task_metadata")


@LOADS
@given(spans=otlp_spans())
def test_otlp_loads_conserve_every_record(db, tmp_path_factory, spans):
    _fresh(db)
    path = tmp_path_factory.mktemp("fuzz") / "spans.jsonl"
    path.write_bytes(b"\n".join(_otlp_document([span]) for span in spans) + b"\n")
    _load_and_check(db, path, "otlp")


@LOADS
@given(observations=langfuse_observations())
def test_langfuse_loads_conserve_every_record(db, tmp_path_factory, observations):
    _fresh(db)
    path = tmp_path_factory.mktemp("fuzz") / "page.json"
    path.write_text(json.dumps({"data": observations, "meta": {}}, default=str))
    _load_and_check(db, path, "langfuse")


@LOADS
@given(data=st.binary(max_size=2000), format=st.sampled_from(["native", "otlp", "langfuse"]),
       cut=st.integers(0, 2000))
def test_arbitrary_and_truncated_bytes_in_any_format(db, tmp_path_factory, data, format, cut):
    _fresh(db)
    path = tmp_path_factory.mktemp("fuzz") / "input"
    path.write_bytes(data[:cut])
    _load_and_check(db, path, format)
