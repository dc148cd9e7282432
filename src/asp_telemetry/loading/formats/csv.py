"""CSV: a header row of column names, one raw table per file (named with --table). An empty
cell is a missing value; JSON columns hold JSON text; components_affected holds a JSON array.

The input is read as bytes, line by line, and Python's csv parser is fed the lines of one
record at a time, so that every row is known by its exact original bytes and its first line:

- a line that is not valid UTF-8 costs only the row it is in (rejected, naming the byte);
  the header is the only row whose loss fails the file;
- a quoted field that never closes cannot swallow the rest of the input: when a record reaches
  the end of the input inside quotes, or grows past the record size limit, its first line is
  rejected ("unclosed quote") and reading starts again on the next line. Lines read again this
  way never add up to more than the input itself, so time stays linear in its size.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import orjson

from asp_telemetry.loading.formats import FormatError, Item
from asp_telemetry.loading.formats.lines import LongLine, read_lines, strip_break, too_long
from asp_telemetry.loading.records import TABLES
from asp_telemetry.loading.tables import TABLE_LOADS

ARRAY_COLUMNS = frozenset({"components_affected"})
BOM = "\ufeff"


def _json_columns(table: str) -> frozenset[str]:
    return frozenset(c.name for c in TABLE_LOADS[table].columns if c.json) | ARRAY_COLUMNS


@dataclass(slots=True)
class _Line:
    number: int
    raw: bytes  # with its line break
    text: str  # decoded; invalid bytes as lone surrogates (then `invalid` says where)
    invalid: str | None = None


def _decode(number: int, raw: bytes) -> _Line:
    try:
        return _Line(number, raw, raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.end]
        where = f"byte {bad[:1].hex()!r} at line {number}, column {exc.start + 1}"
        return _Line(number, raw, raw.decode("utf-8", errors="surrogateescape"), invalid=where.replace("'", ""))


class _RecordTooLong(Exception):
    pass


@dataclass(slots=True)
class _Record:
    """The lines of one record (or of one problem), and its row once parsed."""

    lines: list[_Line]
    row: list[str] | None = None
    error: str | None = None
    long_line: tuple[int, LongLine] | None = None

    @property
    def invalid(self) -> str | None:
        """Where the first byte that is not UTF-8 is, if there is one."""
        return next((line.invalid for line in self.lines if line.invalid), None)

    @property
    def first(self) -> int:
        return self.long_line[0] if self.long_line else self.lines[0].number

    def original(self) -> bytes:
        if self.long_line:
            return self.long_line[1].excerpt
        return strip_break(b"".join(line.raw for line in self.lines))


class _Records:
    """Splits the input into records with the csv module, one record's lines at a time."""

    def __init__(self, stream: BinaryIO, max_record_bytes: int):
        self.max_bytes = max_record_bytes
        self.lines = read_lines(stream, max_record_bytes)
        self.pending: deque[tuple[int, bytes | LongLine]] = deque()  # lines to read again
        self.bytes_read = 0
        self.bytes_replayed = 0
        # The csv module's own limit on a field (128 KiB by default) must not be below the
        # record's: a JSON column may legitimately be large.
        if csv.field_size_limit() < max_record_bytes:
            csv.field_size_limit(max_record_bytes)

    def _next_line(self) -> tuple[int, bytes | LongLine] | None:
        if self.pending:
            return self.pending.popleft()
        found = next(self.lines, None)
        if found is not None and isinstance(found[1], bytes):
            self.bytes_read += len(found[1])
        return found

    def _feed(self, current: list[_Line], state: dict) -> Iterator[str]:
        """Lines for the csv parser, noting each in `current`; raises _RecordTooLong when a
        record outgrows the limit or reaches a line that alone does."""
        while True:
            found = self._next_line()
            if found is None:
                state["eof"] = True
                return
            number, raw = found
            if isinstance(raw, LongLine):
                state["long"] = found
                raise _RecordTooLong
            line = _decode(number, raw)
            current.append(line)
            state["size"] += len(raw)
            if len(current) > 1 and state["size"] > self.max_bytes:
                raise _RecordTooLong  # a quoted field running on and on
            yield line.text

    def __iter__(self) -> Iterator[_Record]:
        while True:  # one csv parser per stretch of input, a fresh one after each problem
            current: list[_Line] = []
            state: dict = {"size": 0, "eof": False, "long": None}
            reader = csv.reader(self._feed(current, state))
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    if not current:
                        return  # the end of the input
                    yield from self._unclosed(current, "runs to the end of the input")
                    break
                except _RecordTooLong:
                    long_line = state["long"]
                    if long_line is not None:
                        self.pending.appendleft(long_line)
                    if current:
                        yield from self._unclosed(
                            current, f"runs past the record size limit of {self.max_bytes:,} bytes"
                        )
                    else:  # one line longer than the limit, on its own
                        self.pending.popleft()
                        yield _Record([], error=too_long(long_line[1].size, self.max_bytes), long_line=long_line)
                    break
                except csv.Error as exc:
                    if current:
                        yield _Record(list(current), error=f"unreadable CSV ({exc})")
                    break
                if state["eof"]:  # the csv module hands over an unclosed field at the end
                    yield from self._unclosed(current, "runs to the end of the input")
                    break
                yield _Record(list(current), row=row)
                current.clear()
                state["size"] = 0

    def _unclosed(self, lines: list[_Line], how: str) -> Iterator[_Record]:
        """A quote opened on the first line and never closed: reject that line and read the
        lines after it again, as records of their own (within a budget of the input's size)."""
        rest = lines[1:]
        replay = sum(len(line.raw) for line in rest)
        reason = f"unclosed quote: the quoted field that starts on this line {how}"
        if self.bytes_replayed + replay > self.bytes_read:
            yield _Record(lines, error=reason + " (rejected with the lines it swallowed)")
            return
        self.bytes_replayed += replay
        self.pending.extendleft((line.number, line.raw) for line in reversed(rest))
        yield _Record(lines[:1], error=reason)


def iter_records(stream: BinaryIO, max_record_bytes: int) -> Iterator[_Record]:
    """The records of a CSV input, each with its lines (and row, or the problem it has)."""
    return iter(_Records(stream, max_record_bytes))


def parse(stream: BinaryIO, table: str | None, max_record_bytes: int) -> Iterator[Item]:
    if table is None:
        raise FormatError("CSV input needs --table (one of " + ", ".join(TABLES) + ")")
    if table not in TABLES:
        raise FormatError(f"unknown table {table!r} (one of {', '.join(TABLES)})")
    json_columns = _json_columns(table)
    records = iter_records(stream, max_record_bytes)
    header_record = next(records, None)
    if header_record is None:
        return
    if header_record.row is None:
        raise FormatError(f"cannot read the CSV header on line {header_record.first}: {header_record.error}")
    bad = header_record.invalid
    if bad:
        raise FormatError(f"cannot read the CSV header: not valid UTF-8 ({bad})")
    header = [name.strip() for name in header_record.row]
    if header:
        header[0] = header[0].lstrip(BOM).strip()
    if not any(header):
        following = next(records, None)
        if following is None:
            return  # nothing but an empty line
        raise FormatError(f"the CSV header on line {header_record.first} names no columns")
    for record in records:
        original = record.original()
        if record.row is None:
            yield Item(record.first, original, None, error=record.error, record_type=table)
            continue
        row = record.row
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        bad = record.invalid
        if bad:
            yield Item(record.first, original, None, error=f"not valid UTF-8: {bad}", record_type=table)
            continue
        if len(row) != len(header):
            yield Item(record.first, original, None, error=f"{len(row)} fields, the header has {len(header)}",
                       record_type=table)
            continue
        values: dict = {"record": table}
        error = None
        for name, cell in zip(header, row):
            if cell == "":
                continue
            if name == "record":
                if cell != table:
                    error = f"record: {cell!r} in a file loaded as {table}"
                continue
            if name in json_columns:
                try:
                    values[name] = orjson.loads(cell)
                except orjson.JSONDecodeError as exc:
                    error = f"{name}: not valid JSON ({exc})"
                    break
            else:
                values[name] = cell
        if error:
            yield Item(record.first, original, None, error=error, record_type=table)
        else:
            yield Item(record.first, original, [values], record_type=table)

