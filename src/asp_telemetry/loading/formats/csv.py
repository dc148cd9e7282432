"""CSV: a header row of column names, one raw table per file (named with --table). An empty
cell is a missing value; JSON columns hold JSON text; components_affected holds a JSON array."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

import orjson

from asp_telemetry.loading.formats import FormatError, Item
from asp_telemetry.loading.records import TABLES
from asp_telemetry.loading.tables import TABLE_LOADS

ARRAY_COLUMNS = frozenset({"components_affected"})


def _json_columns(table: str) -> frozenset[str]:
    return frozenset(c.name for c in TABLE_LOADS[table].columns if c.json) | ARRAY_COLUMNS


def _original(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    return buffer.getvalue()


def parse(stream: BinaryIO, table: str | None) -> Iterator[Item]:
    if table is None:
        raise FormatError("CSV input needs --table (one of " + ", ".join(TABLES) + ")")
    if table not in TABLES:
        raise FormatError(f"unknown table {table!r} (one of {', '.join(TABLES)})")
    json_columns = _json_columns(table)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read the CSV header ({exc})") from None
    if not header:
        return
    header = [name.strip() for name in header]
    rows = iter(reader)
    while True:
        start = reader.line_num + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            yield Item(start, "", None, error=f"unreadable CSV ({exc})", record_type=table)
            continue
        if not any(cell.strip() for cell in row):
            continue
        original = _original(row)
        if len(row) != len(header):
            yield Item(
                start, original, None, error=f"{len(row)} fields, the header has {len(header)}", record_type=table
            )
            continue
        record: dict = {"record": table}
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
                    record[name] = orjson.loads(cell)
                except orjson.JSONDecodeError as exc:
                    error = f"{name}: not valid JSON ({exc})"
                    break
            else:
                record[name] = cell
        if error:
            yield Item(start, original, None, error=error, record_type=table)
        else:
            yield Item(start, original, [record], record_type=table)
