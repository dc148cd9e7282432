"""The loader's lake writer: the batches the loader validated (loading/batcher.py) become
Parquet files of the raw tables' datasets, partitioned by day, with the rejects as a dataset
of their own. The writer thread (loading/writer_thread.py) hands it batches exactly as it
hands the PostgreSQL writer (loading/writer.py) its own.

A lake is append-only: each batch's rows are appended (staging enforces identities and
merges a task's versions, docs/spark.md). Within a batch, cost and bootstrap rows that repeat
an identity are counted as duplicates, as on PostgreSQL; tasks and defects keep every
version, as given (NULL where the record left a value out: the merge needs to know).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from asp_telemetry.lake import paths as lake_paths
from asp_telemetry.lake.files import PendingFiles, by_day, utc_days
from asp_telemetry.lake.schemas import (
    GENERATED_DATES,
    RAW_SCHEMAS,
    REJECTS_SCHEMA,
    TIMESTAMP,
    appended,
    arrow_type,
    time_column,
)
from asp_telemetry.loading.rejects import RejectedRecord, reject_row
from asp_telemetry.loading.tables import PYTHON_DEFAULTS, TABLE_LOADS, TableLoad
from asp_telemetry.loading.writer import Batch, Counts

REJECTS = "rejected_records"
# What one row's value can fail on when it becomes Arrow (the record costs itself only).
CONVERSION_ERRORS = (pa.ArrowException, ValueError, TypeError, OverflowError, ArithmeticError)


def uuid_text(hex_digits: str) -> str:
    """32 hex digits as PostgreSQL renders a uuid (8-4-4-4-12)."""
    h = hex_digits
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _quantizer(scale: int):
    quantum = Decimal(1).scaleb(-scale)

    def quantize(value: Decimal | None) -> Decimal | None:
        # numeric(p, s) rounds to s places on input, half away from zero, as PostgreSQL does
        return None if value is None else value.quantize(quantum, rounding=ROUND_HALF_UP)

    return quantize


class LakeBatchWriter:
    """Writes the batches of one source into the lake. `write` leaves its files hidden until
    `commit` (a --strict load commits once, at its end, or `discard`s)."""

    def __init__(self, lake: Path, load_id: str, source: str, source_identity: str):
        self.lake = lake
        self.load_id = load_id
        self.source = source
        self.source_identity = source_identity
        self.load_day = datetime.now(UTC).date()
        self.files = PendingFiles()
        self._items_before = 0  # items of earlier batches: a record's position in its source
        self._file_number = 0

    # -- what the writer thread calls ------------------------------------------------------
    def write_committed(self, batch: Batch) -> Counts:
        """One batch and its rejects, visible together once all its files are written."""
        try:
            counts, rejects = self.write(batch)
            self._write_rejects(rejects)
            self.files.commit()
        except BaseException:
            self.files.discard()
            raise
        return counts

    def write(self, batch: Batch, data: bool = True) -> tuple[Counts, list[RejectedRecord]]:
        """Write a batch's rows (hidden until `commit`); returns what happened and every
        reject (the batch's own and rows Arrow refused). With data=False only the rejects
        are returned (a strict load that already failed)."""
        counts = Counts(duplicates=batch.repeated if data else 0)
        rejects = list(batch.rejects)
        if data:
            loaded_at = datetime.now(UTC)  # one time per batch, as one transaction's now()
            for table, rows in batch.rows.items():
                direct = batch.direct.get(table)
                if direct:  # the PostgreSQL fast path's rows, if a batcher made them
                    rows = direct[0] + rows
                if rows:
                    self._write_table(TABLE_LOADS[table], rows, batch, loaded_at, counts, rejects)
        self._items_before += len(batch.items)
        counts.rejected = len(rejects)
        counts.read = batch.records - counts.refused_rows + counts.rejected
        return counts, rejects

    def store_rejects(self, rejects: list[RejectedRecord]) -> None:
        """Rejects written and made visible now (a --strict load keeps them when it fails)."""
        pending, self.files = self.files, PendingFiles()
        try:
            self._write_rejects(rejects)
            self.files.commit()
        finally:
            self.files.discard()
            self.files = pending

    def commit(self) -> None:
        self.files.commit()

    def discard(self) -> None:
        self.files.discard()

    # -- one table -------------------------------------------------------------------------
    def _next_path(self, dataset: str, day: date) -> Path:
        self._file_number += 1
        return lake_paths.partition_dir(self.lake, dataset, day) / lake_paths.part_name(self.load_id, self._file_number)

    def _write_table(self, load: TableLoad, rows: list[tuple], batch: Batch, loaded_at: datetime, counts: Counts,
                     rejects: list[RejectedRecord]) -> None:
        try:
            table = self._arrow(load, rows, loaded_at)
        except CONVERSION_ERRORS:
            table = self._arrow_row_by_row(load, rows, batch, loaded_at, counts, rejects)
            if table is None:
                return
        times = table.column(time_column(load)).combine_chunks()
        for day, part in by_day(table, utc_days(times, loaded_at.date())):
            self.files.write(part, self._next_path(load.table, day))
        counts.loaded += table.num_rows

    def _arrow_row_by_row(self, load: TableLoad, rows: list[tuple], batch: Batch, loaded_at: datetime,
                          counts: Counts, rejects: list[RejectedRecord]) -> pa.Table | None:
        """The rows Arrow takes; an item whose row it refuses is rejected with the reason."""
        refused: dict[int, str] = {}
        for row in rows:
            try:
                self._arrow(load, [row], loaded_at)
            except CONVERSION_ERRORS as exc:
                refused.setdefault(row[0], f"cannot be written to the lake ({type(exc).__name__}: {exc})")
        for seq, reason in refused.items():
            item = batch.items[seq]
            rejects.append(RejectedRecord(source=self.source, position=item.where, line_number=item.line,
                                          record_type=load.table, reason=reason,
                                          original_bytes=item.original_bytes()))
        kept = [row for row in rows if row[0] not in refused]
        counts.refused_rows += len(rows) - len(kept)
        return self._arrow(load, kept, loaded_at) if kept else None

    def _arrow(self, load: TableLoad, rows: list[tuple], loaded_at: datetime) -> pa.Table:
        """Staging rows (seq, [record_key], columns...) as the dataset's Arrow table."""
        schema = RAW_SCHEMAS[load.table]
        n = len(rows)
        transposed = list(zip(*rows))
        offset = 2 if load.record_key else 1
        fill = appended(load)  # merged versions keep what was given (NULL: not given)
        arrays: dict[str, pa.Array] = {}
        for i, column in enumerate(load.columns):
            values = transposed[offset + i]
            if fill and column.default is not None:
                default = loaded_at if column.default == "now()" else PYTHON_DEFAULTS[column.default]
                values = [default if value is None else value for value in values]
            if column.staging_type == "numeric" and column.precision is not None:
                values = list(map(_quantizer(column.precision.scale), values))
            arrays[column.name] = pa.array(values, type=arrow_type(column))
        if load.record_key:
            arrays["record_key"] = pa.array(list(map(uuid_text, transposed[1])), type=pa.string())
        if load.table in GENERATED_DATES:
            name, source = GENERATED_DATES[load.table]
            arrays[name] = pc.cast(arrays[source], pa.date32())
        stamp = pa.repeat(pa.scalar(loaded_at, TIMESTAMP), n)
        if load.merge:
            arrays["updated_at"] = stamp
        arrays["loaded_at"] = stamp
        arrays["load_id"] = pa.repeat(pa.scalar(self.load_id, pa.string()), n)
        base = self._items_before
        arrays["record_position"] = pa.array([base + seq for seq in transposed[0]], type=pa.int64())
        return pa.Table.from_arrays([arrays[name] for name in schema.names], schema=schema)

    def _write_rejects(self, rejects: list[RejectedRecord]) -> None:
        if not rejects:
            return
        rows = [reject_row(None, self.source_identity, reject) for reject in rejects]
        columns = list(zip(*rows))
        now = datetime.now(UTC)
        arrays = []
        for i, field in enumerate(REJECTS_SCHEMA):
            if field.name == "load_id":
                values = [self.load_id] * len(rows)
            elif field.name == "reject_key":
                values = [uuid_text(key) for key in columns[i]]
            elif field.name == "rejected_at":
                values = [now] * len(rows)
            else:
                values = list(columns[i])
            arrays.append(pa.array(values, type=field.type))
        table = pa.Table.from_arrays(arrays, schema=REJECTS_SCHEMA)
        self.files.write(table, self._next_path(REJECTS, now.date()))
