"""Writing Parquet files into the lake so that no reader ever sees half of one: each is written
under a hidden name (a leading `.`, which Spark, Hive and pyarrow skip), synced, and renamed
to its name; a set of files is renamed only once all of them are written (a batch, or a
--strict load)."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from asp_telemetry.errors import AspError
from asp_telemetry.lake import paths as lake_paths

COMPRESSION = "snappy"  # Spark's default codec for Parquet


class LakeWriteError(AspError, RuntimeError):
    """The lake could not be written (a full disk, a permission): the load stops there."""


class PendingFiles:
    """Files written under their hidden names, made visible together by `commit`."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def write(self, table: pa.Table, path: Path) -> None:
        hidden = lake_paths.hidden(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(hidden, "wb") as handle:
                pq.write_table(table, handle, compression=COMPRESSION)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            with contextlib.suppress(OSError):
                hidden.unlink()
            raise LakeWriteError(f"cannot write {path} ({exc.strerror or exc})") from exc
        self._pending.append((hidden, path))

    def commit(self) -> None:
        try:
            for hidden, path in self._pending:
                os.replace(hidden, path)
        except OSError as exc:
            raise LakeWriteError(f"cannot rename {hidden} to {path} ({exc.strerror or exc})") from exc
        finally:
            self._pending.clear()

    def discard(self) -> None:
        for hidden, _ in self._pending:
            with contextlib.suppress(OSError):
                hidden.unlink()
        self._pending.clear()


ABANDONED_AFTER = timedelta(days=1)


def write_visible(table: pa.Table, path: Path) -> None:
    """One file written whole under its hidden name, then renamed to `path`."""
    files = PendingFiles()
    try:
        files.write(table, path)
        files.commit()
    finally:
        files.discard()


def remove_abandoned(lake: Path, now: datetime | None = None) -> int:
    """Delete the hidden part files of loads that started over a day ago: a load killed
    mid-way (or a --strict one that died) leaves them, and no reader ever sees them, but they
    hold disk. A running load's files are younger; a load that lasts longer than a day is not
    expected. Returns how many were deleted."""
    cutoff = (now or datetime.now(UTC)) - ABANDONED_AFTER
    removed = 0
    for path in lake.glob(f"*/*/{lake_paths.HIDDEN}part-*{lake_paths.SUFFIX}"):
        started = lake_paths.load_started(path.name)
        if started is not None and started < cutoff:
            try:
                path.unlink()
            except OSError:  # gone already, or not ours to delete: the load goes on
                continue
            removed += 1
    return removed


def by_day(table: pa.Table, days: pa.Array) -> list[tuple[date, pa.Table]]:
    """The table's rows split by their partition day (`days`, a date32 array without nulls)."""
    distinct = pc.unique(days).to_pylist()
    if len(distinct) == 1:
        return [(distinct[0], table)]
    return [(day, table.filter(pc.equal(days, pa.scalar(day, pa.date32())))) for day in sorted(distinct)]


def utc_days(timestamps: pa.Array, default: date) -> pa.Array:
    """The UTC date of each timestamp (timestamp[us, UTC]); `default` where there is none."""
    days = pc.cast(timestamps, pa.date32())
    return pc.fill_null(days, pa.scalar(default, pa.date32()))
