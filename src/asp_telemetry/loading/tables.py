"""How each record type reaches its raw table: its staging table, the row COPY writes into
it, and the statements that move staged rows into the raw table without duplicates.

Cost and bootstrap rows are appended once (`on conflict (record_key) do nothing`: they are
never updated; a cost row's key is taken in raw.cost_record_keys, since the cost table is
partitioned). Tasks and defects are merged: a new one is inserted, one seen before takes the
new facts the record brings (README, "Identities"), in a statement that locks the rows in key
order so that concurrent loads cannot deadlock each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from types import UnionType
from typing import Annotated, Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

from asp_telemetry.loading import identity, jsontext
from asp_telemetry.loading.records import (
    AgentCostVectorRecord,
    BootstrapMetricsRecord,
    DefectLogRecord,
    TaskMetadataRecord,
)
from asp_telemetry.loading.types import Default, Precision

JSON = "jsonb"
# Column defaults the COPY fast path fills in itself (now() is left to the database).
NULL = "\\N"
PYTHON_DEFAULTS = {"1": 1, "0": 0, "false": False, "'pending'": "pending"}
_COPY_TEXT: dict[str, Callable[[Any], str]] = {
    "text": str,
    "int": str,
    "numeric": str,
    "timestamptz": datetime.isoformat,
    "boolean": lambda value: "t" if value else "f",
    JSON: str,  # already JSON text
}


def _escape(field: str) -> str:
    """COPY text format: backslash, tab, newline and carriage return are escaped."""
    return field.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


@dataclass(frozen=True)
class Column:
    name: str
    staging_type: str
    default: str | None = None  # SQL for a value the record leaves out
    json: bool = False
    precision: Precision | None = None  # numeric columns: numeric(precision, scale)

    @property
    def quoted(self) -> str:
        return f'"{self.name}"'

    @property
    def value(self) -> str:
        """The staged value, with the table's default when the record left it out."""
        return f"coalesce(s.{self.quoted}, {self.default})" if self.default else f"s.{self.quoted}"


@dataclass(frozen=True)
class TableLoad:
    table: str
    columns: tuple[Column, ...]
    key: str  # the identity column: record_key, or the primary key
    record_key: Callable[[dict[str, Any]], str] | None = None
    merge: dict[str, str] = field(default_factory=dict)  # column -> SQL of its new value (t = existing, s = staged)
    # A partitioned table (cost rows, migration 0011): its identities are kept in a table of
    # their own (a unique index on the partitioned table would have to include the partition
    # column), and the partitions a batch needs are made before it is written.
    keys_table: str | None = None
    partition_column: str | None = None
    ensure_partitions: str | None = None  # SQL function (first, last) making partitions

    @cached_property
    def partition_position(self) -> int:
        """Where the partition column's value is in a staging row (seq, record_key, columns...)."""
        names = [c.name for c in self.columns]
        return 2 + names.index(self.partition_column)

    def keys_copy_text(self, lines: list[str]) -> bytes:
        """The COPY text of the identities of directly copied rows for `keys_table`, from
        their COPY lines for the raw table (copy_formatter's): the record_key is the first
        field, the partition column's text is taken as formatted there (a real tab only ever
        separates fields), so that each row's timestamp is formatted once, not twice."""
        field = self.partition_position - 1  # the line has no seq: (record_key, columns...)
        return "".join([f"{parts[0]}\t{parts[field]}\n" for parts in
                        (line.split("\t", field + 1) for line in lines)]).encode()

    @property
    def staging_table(self) -> str:
        return f"pg_temp.stage_{self.table}"

    @property
    def copy_columns(self) -> list[str]:
        names = ["seq"] + (["record_key"] if self.record_key else []) + [c.name for c in self.columns]
        return [f'"{n}"' for n in names]

    def staging_ddl(self) -> str:
        columns = ["seq int not null"]
        if self.record_key:
            columns.append("record_key uuid not null")
        columns += [f"{c.quoted} {c.staging_type}" for c in self.columns]
        return f"create temp table if not exists stage_{self.table} ({', '.join(columns)})"

    def row_builder(self) -> Callable[[int, dict[str, Any]], tuple]:
        """A function (seq, record) -> the staging row: (seq, [record_key,] columns...), JSON
        columns as text. Built once per load: it runs for every record."""
        names = tuple(c.name for c in self.columns)
        json_positions = tuple(i for i, c in enumerate(self.columns) if c.json)
        key = self.record_key
        dumps = jsontext.dumps

        def build(seq: int, record: dict[str, Any]) -> tuple:
            get = record.get
            values = [get(name) for name in names]
            for i in json_positions:
                if values[i] is not None:
                    values[i] = dumps(values[i]).decode()
            return (seq, key(record), *values) if key else (seq, *values)

        return build

    def copy_formatter(self) -> Callable[[tuple], str | None]:
        """A function staging row -> its line of COPY text for the raw table itself (the fast
        path of appended rows), or None when the record leaves out a value whose default is
        `now()`: such rows take the staging path, where the database supplies it."""
        converters = [_COPY_TEXT[c.staging_type] for c in self.columns]
        defaults = [PYTHON_DEFAULTS.get(c.default) if c.default else None for c in self.columns]
        needs_now = tuple(i for i, c in enumerate(self.columns) if c.default == "now()")
        separators = len(self.columns)  # record_key + columns, tab-separated

        def line(row: tuple) -> str | None:
            values = row[2:]
            for i in needs_now:
                if values[i] is None:
                    return None
            fields = [row[1]]
            append = fields.append
            nulls = 0
            for convert, default, value in zip(converters, defaults, values):
                if value is None:
                    value = default
                    if value is None:
                        append(NULL)
                        nulls += 1
                        continue
                append(convert(value))
            text = "\t".join(fields)
            # Only a line with a tab, newline, carriage return or backslash in a value needs
            # escaping (each NULL accounts for one backslash).
            if text.count("\t") != separators or text.count("\\") != nulls or "\n" in text or "\r" in text:
                text = "\t".join(
                    NULL if value is None and default is None else _escape(convert(default if value is None else value))
                    for convert, default, value in zip([str, *converters], [None, *defaults], [row[1], *values])
                )
            return text

        return line

    def insert_sql(self) -> str:
        """Insert the staged rows of a seq range that are new; returns their count."""
        target = (["record_key"] if self.record_key else []) + [c.quoted for c in self.columns]
        source = (["s.record_key"] if self.record_key else []) + [c.value for c in self.columns]
        # A task or defect that exists is left to update_sql: PostgreSQL checks a proposed
        # row's constraints before it finds the conflict, and defaults (created_at = now())
        # could make an existing defect's resolution look like a violation.
        new_only = (
            f" and not exists (select 1 from raw.{self.table} t where t.{self.key} = s.{self.key})"
            if self.merge else ""
        )
        if self.keys_table:
            # The identity is taken in keys_table first; only the rows whose key was new there
            # are inserted (the first of a batch's rows with one key, by seq).
            partition = next(c.value for c in self.columns if c.name == self.partition_column)
            return (
                f"with fresh as (insert into raw.{self.keys_table} ({self.key}, \"{self.partition_column}\")"
                f" select s.{self.key}, {partition} from {self.staging_table} s"
                f" where s.seq between %(first)s and %(last)s order by s.{self.key}, s.seq"
                f" on conflict ({self.key}) do nothing returning {self.key})"
                f" insert into raw.{self.table} ({', '.join(target)})"
                f" select distinct on (s.{self.key}) {', '.join(source)} from {self.staging_table} s"
                f" join fresh on fresh.{self.key} = s.{self.key}"
                f" where s.seq between %(first)s and %(last)s"
                f" order by s.{self.key}, s.seq"
            )
        return (
            f"insert into raw.{self.table} ({', '.join(target)})"
            f" select {', '.join(source)} from {self.staging_table} s"
            f" where s.seq between %(first)s and %(last)s{new_only}"
            f" order by s.{self.key}, s.seq"
            f" on conflict ({self.key}) do nothing"
        )

    def update_sql(self) -> str | None:
        """Apply what staged records add to rows that exist; returns the count changed."""
        if not self.merge:
            return None
        assignments = ", ".join(f'"{c}" = {expr}' for c, expr in self.merge.items())
        current = ", ".join(f't."{c}"' for c in self.merge)
        proposed = ", ".join(self.merge.values())
        return (
            f"with locked as (select t.{self.key} from raw.{self.table} t"
            f" join {self.staging_table} s on s.{self.key} = t.{self.key}"
            " where s.seq between %(first)s and %(last)s"
            f" order by t.{self.key} for update of t)"
            f" update raw.{self.table} t set {assignments}"
            f" from {self.staging_table} s"
            f" where s.{self.key} = t.{self.key} and s.seq between %(first)s and %(last)s"
            f" and t.{self.key} in (select {self.key} from locked)"
            f" and ({current}) is distinct from ({proposed})"
        )


def _keep_unless_given(*columns: str) -> dict[str, str]:
    return {c: f'coalesce(s."{c}", t."{c}")' for c in columns}


def _staging_type(hint: Any) -> str:
    """The staging column type of a record field's annotation."""
    origin = get_origin(hint)
    if origin in (NotRequired, Required, Annotated):
        return _staging_type(get_args(hint)[0])
    if origin in (Union, UnionType):
        kinds = {_staging_type(arg) for arg in get_args(hint) if arg is not type(None)}
        if len(kinds) != 1:  # dict | list: any JSON value
            kinds = {JSON} if kinds <= {JSON, "json list"} else kinds
        (kind,) = kinds
        return JSON if kind == "json list" else kind
    if origin is Literal:
        return "text"
    if origin is dict:
        return JSON
    if origin is list:
        return "text[]" if get_args(hint) == (str,) else "json list"
    for python_type, kind in ((bool, "boolean"), (int, "int"), (Decimal, "numeric"), (datetime, "timestamptz"),
                              (str, "text")):
        if isinstance(hint, type) and issubclass(hint, python_type):
            return kind
    raise TypeError(f"no staging type for {hint!r}")


def _default(hint: Any) -> str | None:
    if get_origin(hint) in (NotRequired, Required):
        return _default(get_args(hint)[0])
    if get_origin(hint) is Annotated:
        return next((m.sql for m in hint.__metadata__ if isinstance(m, Default)), None)
    return None


def _precision(hint: Any) -> Precision | None:
    """numeric(precision, scale) of a numeric field (types.numeric), wherever it is nested."""
    origin = get_origin(hint)
    if origin is Annotated:
        found = next((m for m in hint.__metadata__ if isinstance(m, Precision)), None)
        return found or _precision(get_args(hint)[0])
    if origin in (NotRequired, Required, Union, UnionType):
        return next((p for arg in get_args(hint) if (p := _precision(arg)) is not None), None)
    return None


def columns_of(record_type: type) -> tuple[Column, ...]:
    """The raw columns a record type writes, from its model (records.py): one field there is
    one column here, in the model's order."""
    hints = get_type_hints(record_type, include_extras=True)
    columns = []
    for name, hint in hints.items():
        if name == "record":
            continue
        kind = _staging_type(hint)
        columns.append(Column(name, kind, _default(hint), json=kind == JSON, precision=_precision(hint)))
    return tuple(columns)


COST = TableLoad(
    table="agent_cost_vector",
    key="record_key",
    record_key=identity.cost_key,
    keys_table="cost_record_keys",
    partition_column="timestamp",
    ensure_partitions="raw.ensure_cost_partitions",
    columns=columns_of(AgentCostVectorRecord),
)

BOOTSTRAP = TableLoad(
    table="bootstrap_metrics",
    key="record_key",
    record_key=identity.bootstrap_key,
    columns=columns_of(BootstrapMetricsRecord),
)

_STATUS_RANK = "(case {} when 'pending' then 0 when 'in_progress' then 1 else 2 end)"

TASK = TableLoad(
    table="task_metadata",
    key="task_id",
    columns=columns_of(TaskMetadataRecord),
    merge={
        # The earliest creation and start, the latest completion; status never moves back
        # (pending < in_progress < completed | failed).
        "created_at": "least(t.created_at, s.created_at)",
        "started_at": "least(t.started_at, s.started_at)",
        "completed_at": "greatest(t.completed_at, s.completed_at)",
        "status": (
            f"case when s.status is not null and {_STATUS_RANK.format('s.status')} >= "
            f"{_STATUS_RANK.format('t.status')} then s.status else t.status end"
        ),
        # Any other fact the record gives wins.
        **_keep_unless_given(*(c.name for c in columns_of(TaskMetadataRecord)
                               if c.name not in ("task_id", "created_at", "started_at", "completed_at", "status"))),
    },
)

DEFECT = TableLoad(
    table="defect_log",
    key="defect_id",
    columns=columns_of(DefectLogRecord),
    # A defect arriving again brings its resolution: when it was resolved, how, what it cost
    # to fix, and the review verdicts. What it is (type, phases, place) stays as first recorded.
    merge=_keep_unless_given(
        "resolved_at", "resolution_notes", "root_cause", "effort_to_fix_json",
        "flagged_by_agent", "validated_by_human", "false_positive",
    ),
)

# Tasks first: with the optional foreign keys on, a file's cost rows and defects need their
# task in place.
TABLE_LOADS: dict[str, TableLoad] = {t.table: t for t in (TASK, DEFECT, COST, BOOTSTRAP)}
