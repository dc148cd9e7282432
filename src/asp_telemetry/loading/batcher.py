"""Validation of parsed items into batches of staging rows, in the parsing thread.

A batch is bounded in records and in bytes of input, so that at most a couple of batches are
ever in memory whatever the input's size. Whatever goes wrong with one item (its validation,
a NUL character, building its rows) rejects that item with the reason; the rest go on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from pydantic import ValidationError

from asp_telemetry.loading.formats import Item
from asp_telemetry.loading.limits import LoadTimedOut
from asp_telemetry.loading.records import RecordError, RecordValidator, describe
from asp_telemetry.loading.rejects import RejectedRecord
from asp_telemetry.loading.tables import TABLE_LOADS
from asp_telemetry.loading.writer import Batch

DEFAULT_BATCH_ROWS = 50_000
# The first batch closes at this many records, and each next one at twice the last, up to
# batch_rows: the writer thread starts its COPY after a few milliseconds of parsing instead of
# waiting for a whole batch (at 50,000 records, a second of parsing before anything is sent),
# while a large file still goes in few large batches. batch_rows smaller than this: no ramp.
FIRST_BATCH_ROWS = 4_096
BATCH_BYTES = 32 << 20  # a batch closes at this many bytes of input, whatever its rows
DEADLINE_EVERY = 1024  # items between two looks at the clock
NUL_ESCAPE = b"\\u0000"
NUL_REASON = "contains a NUL character (\\u0000), which PostgreSQL cannot store"


def _contains_nul(value: Any) -> bool:
    """Whether a NUL character is anywhere in a value (iteratively: JSON may nest deeply)."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def _record_type_of(item: Item) -> str | None:
    if item.record_type:
        return item.record_type
    if isinstance(item.payload, bytes):
        try:
            value = orjson.loads(item.payload)
        except orjson.JSONDecodeError:
            return None
        kind = value.get("record") if isinstance(value, dict) else None
        return kind if isinstance(kind, str) and kind in TABLE_LOADS else None
    if item.payload:
        kind = item.payload[0].get("record") if isinstance(item.payload[0], dict) else None
        return kind if isinstance(kind, str) and kind in TABLE_LOADS else None
    return None


def _no_copy_text(row: tuple) -> None:
    return None


def _unexpected(exc: BaseException) -> str:
    return f"cannot be loaded ({type(exc).__name__}: {exc})"


class Batcher:
    """Validates items into batches of staging rows."""

    def __init__(self, validator: RecordValidator, source_name: str, batch_rows: int,
                 deadline: float | None = None, batch_bytes: int = BATCH_BYTES, copy_text: bool = True):
        self.validator = validator
        self.source_name = source_name
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.deadline = deadline
        self.batch = Batch()
        # Appended rows are made unique within the batch when it is sealed; copy_text also
        # formats them for PostgreSQL's COPY (a writer that needs no COPY text, the lake's, skips it).
        self.formatters = {name: table.copy_formatter() if copy_text else _no_copy_text
                           for name, table in TABLE_LOADS.items() if table.record_key}

    def reject(self, item: Item, reason: str) -> None:
        self.batch.rejects.append(
            RejectedRecord(
                source=self.source_name,
                position=item.where,
                line_number=item.line,
                record_type=_record_type_of(item),
                reason=reason,
                original_bytes=item.original_bytes(),
            )
        )

    def batches(self, items: Iterable[Item]) -> Iterator[Batch]:
        validate_json = self.validator.validate_json_fast
        staging = {name: table.row_builder() for name, table in TABLE_LOADS.items()}
        formatters = self.formatters
        batch_bytes, deadline = self.batch_bytes, self.deadline
        batch_rows = min(self.batch_rows, FIRST_BATCH_ROWS)  # then doubling, up to self.batch_rows
        batch = self.batch
        rows, batch_items, size, nbytes = batch.rows, batch.items, 0, 0
        step = min(DEADLINE_EVERY, batch_rows)
        check_at = step  # the next size at which to look at the clock and the batch's rows
        for item in items:
            payload = item.payload
            if item.error is None and type(payload) is bytes:  # a native line: the hot path
                nbytes += len(payload)
                try:
                    record = validate_json(payload)
                except ValidationError as exc:
                    self.reject(item, describe(exc))
                else:
                    if NUL_ESCAPE in payload and _contains_nul(record):
                        self.reject(item, NUL_REASON)
                    else:
                        table = record.pop("record")
                        try:
                            row = staging[table](len(batch_items), record)
                        except Exception as exc:  # noqa: BLE001 - the record costs itself only
                            self.reject(item, _unexpected(exc))
                        else:
                            rows[table].append(row)
                            batch_items.append(item)
                            batch.records += 1
            else:
                nbytes += len(item.text)
                self._add(item, staging)
            size += 1
            if size >= check_at or nbytes >= batch_bytes:
                if deadline is not None and time.monotonic() > deadline:
                    raise LoadTimedOut
                check_at = min(size + step, batch_rows)
                if size >= batch_rows or nbytes >= batch_bytes:
                    yield batch.seal(formatters)
                    batch = self.batch = Batch()
                    batch_rows = min(2 * batch_rows, self.batch_rows)
                    step = min(DEADLINE_EVERY, batch_rows)
                    rows, batch_items, size, nbytes, check_at = batch.rows, batch.items, 0, 0, step
        if len(batch):
            yield batch.seal(formatters)
            self.batch = Batch()

    def _add(self, item: Item, staging: dict) -> None:
        """An item of records as dicts (CSV, OTLP, Langfuse, in-memory), or an error: all its
        records go in, or the item is one reject."""
        if item.error is not None:
            self.reject(item, item.error)
            return
        batch = self.batch
        seq = len(batch.items)
        try:
            records = [self.validator.validate(record) for record in item.payload]
            if any(_contains_nul(r) for r in records):
                self.reject(item, NUL_REASON)
                return
            built = []
            for record in records:
                table = record.pop("record")
                built.append((table, staging[table](seq, record)))
        except RecordError as exc:
            self.reject(item, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the item costs itself only
            self.reject(item, _unexpected(exc))
            return
        batch.items.append(item)
        for table, row in built:
            batch.rows[table].append(row)
        batch.records += len(built)
