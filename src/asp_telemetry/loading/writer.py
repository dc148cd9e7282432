"""Writing batches of validated records: COPY into a temporary staging table per record type,
then `insert ... select ... on conflict` into the raw table (never row by row).

When the database refuses a batch (a check the validator does not know, the optional foreign
keys, a constraint a team added), the batch is bisected inside savepoints until the refused
records are isolated; they become rejects with the database's reason and the rest loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import errors

from asp_telemetry.loading.formats import Item
from asp_telemetry.loading.rejects import RejectedRecord, store_rejects
from asp_telemetry.loading.tables import TABLE_LOADS, TableLoad

# Errors that mean "these rows are wrong", as opposed to "the connection or server is".
ROW_ERRORS = (errors.IntegrityError, errors.DataError)
RETRYABLE = (errors.DeadlockDetected, errors.SerializationFailure)
MAX_RETRIES = 5


@dataclass
class Counts:
    """What became of the records of some batches. `read` counts each record once, and a
    reject once, whatever the number of rows its item would have made (an OTLP execution
    makes several): read = loaded + updated + duplicates + rejected when nothing is lost."""

    read: int = 0
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    refused_rows: int = 0  # rows of the items the database refused (they count as one reject each)

    def add(self, other: Counts) -> None:
        self.read += other.read
        self.loaded += other.loaded
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.refused_rows += other.refused_rows


@dataclass
class Batch:
    """Validated records (as staging rows per table) and the rejects found among them.
    `items[seq]` is the input a staged row came from; all rows of one item share its seq.

    Once sealed, appended rows (cost, bootstrap) that are new within the batch and need no
    default from the database are in `direct` as (rows, COPY text for the raw table), sorted
    by key; `repeated` counts the rows that repeat a key earlier in the batch."""

    rows: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in TABLE_LOADS})
    items: list[Item] = field(default_factory=list)
    rejects: list[RejectedRecord] = field(default_factory=list)
    records: int = 0
    direct: dict[str, tuple[list[tuple], bytes]] = field(default_factory=dict)
    direct_keys: dict[str, bytes] = field(default_factory=dict)  # COPY text of their identities
    # (first, last, some row takes now()) of the partition column, per partitioned table
    partition_ranges: dict[str, tuple] = field(default_factory=dict)
    repeated: int = 0

    def __len__(self) -> int:
        return self.records + len(self.rejects)

    def seal(self, formatters: dict[str, Callable[[tuple], str | None]]) -> Batch:
        """Prepare the direct COPY of appended rows (in the parsing thread, so that the writer
        thread only sends bytes)."""
        for table, format_line in formatters.items():
            rows = self.rows[table]
            if not rows:
                continue
            unique: dict[str, tuple] = {}
            for row in rows:
                unique.setdefault(row[1], row)
            self.repeated += len(rows) - len(unique)
            direct_rows, lines, staged = [], [], []
            for key in sorted(unique):  # key order: concurrent loads take row locks alike
                row = unique[key]
                line = format_line(row)
                if line is None:
                    staged.append(row)
                else:
                    direct_rows.append(row)
                    lines.append(line)
            self.rows[table] = staged
            load = TABLE_LOADS[table]
            if lines:
                if load.keys_table:
                    self.direct_keys[table] = load.keys_copy_text(lines)
                lines.append("")
                self.direct[table] = (direct_rows, "\n".join(lines).encode())
            if load.partition_column:
                position = load.partition_position
                values = [row[position] for row in unique.values()]
                given = [value for value in values if value is not None]
                self.partition_ranges[table] = (min(given, default=None), max(given, default=None),
                                                len(given) < len(values))
        return self


def prepare_staging(conn: psycopg.Connection) -> None:
    for table in TABLE_LOADS.values():
        conn.execute(table.staging_ddl())
    conn.commit()


class BatchWriter:
    """Writes batches of one source through one connection."""

    def __init__(self, conn: psycopg.Connection, load_id: int | None, source: str, source_identity: str):
        self.conn = conn
        self.load_id = load_id
        self.source = source
        self.source_identity = source_identity

    def write(
        self, batch: Batch, data: bool = True, partitions_made: bool = False
    ) -> tuple[Counts, list[RejectedRecord]]:
        """Stage and insert a batch in the current transaction; returns what happened and
        every reject (the batch's own and those the database refused). With data=False only
        the rejects are returned (a strict load that already failed)."""
        counts = Counts(duplicates=batch.repeated)
        rejects = list(batch.rejects)
        if data:
            if not partitions_made:
                self.ensure_partitions(batch)
            for table, rows in batch.rows.items():
                if rows or table in batch.direct:
                    self._write_table(TABLE_LOADS[table], rows, batch, counts, rejects)
        else:
            counts.duplicates = 0
        counts.rejected = len(rejects)
        # Each record the batch holds, once: a refused item's rows count as its one reject.
        counts.read = batch.records - counts.refused_rows + counts.rejected
        return counts, rejects

    def ensure_partitions(self, batch: Batch) -> None:
        """Make the partitions the batch's rows need (none made, in most batches). Outside
        the batch's transaction when there is none yet, so that a new partition's lock on its
        table is not held while the batch is written."""
        for table, (first, last, takes_now) in batch.partition_ranges.items():
            load = TABLE_LOADS[table]
            statement = (
                f"select {load.ensure_partitions}(least(%(first)s, case when %(now)s then now() end),"
                " greatest(%(last)s, case when %(now)s then now() end))"
            )
            params = {"first": first, "last": last, "now": takes_now}
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                with self.conn.transaction():
                    self.conn.execute(statement, params)
            else:
                self.conn.execute(statement, params)

    def write_committed(self, batch: Batch) -> Counts:
        """One batch and its rejects, one transaction; retried when a concurrent load
        deadlocks it."""
        for attempt in range(1, MAX_RETRIES + 1):
            try:
                self.ensure_partitions(batch)
                with self.conn.transaction():
                    counts, rejects = self.write(batch, partitions_made=True)
                    store_rejects(self.conn, self.load_id, self.source_identity, rejects)
                    return counts
            except RETRYABLE:
                if attempt == MAX_RETRIES:
                    raise
        raise AssertionError("unreachable")

    # -- one table --------------------------------------------------------------------------
    def _write_table(self, table: TableLoad, rows: list[tuple], batch: Batch, counts: Counts, rejects: list) -> None:
        direct = batch.direct.get(table.table)
        if direct:
            direct_rows, text = direct
            if self._copy_direct(table, direct_rows, text, batch.direct_keys.get(table.table)):
                counts.loaded += len(direct_rows)
            else:
                rows = direct_rows + rows
        if not rows:
            return
        for round_rows in _rounds(table, rows):
            self._stage(table, round_rows)
            seqs = sorted({row[0] for row in round_rows})
            self._insert(table, seqs, round_rows, batch, counts, rejects)

    def _copy_direct(self, table: TableLoad, rows: list[tuple], text: bytes, keys: bytes | None) -> bool:
        """The fast path of appended rows (cost, bootstrap): COPY straight into the raw table.
        If the database refuses any row (one loaded before, by this load or a concurrent
        one; a check; a foreign key), the savepoint rolls back and the caller stages them."""
        try:
            with self.conn.transaction():
                if keys is not None:
                    with self.conn.cursor().copy(
                        f'copy raw.{table.keys_table} ({table.key}, "{table.partition_column}") from stdin'
                    ) as copy:
                        copy.write(keys)
                with self.conn.cursor().copy(
                    f"copy raw.{table.table} ({', '.join(table.copy_columns[1:])}) from stdin"
                ) as copy:
                    copy.write(text)
        except ROW_ERRORS:
            return False
        return True

    def _stage(self, table: TableLoad, rows: list[tuple]) -> None:
        self.conn.execute(f"truncate {table.staging_table}")
        with self.conn.cursor().copy(
            f"copy {table.staging_table} ({', '.join(table.copy_columns)}) from stdin"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        # Autovacuum never analyzes temporary tables: without statistics the planner takes the
        # staged batch for a few rows and joins it to the raw table by nested loops, quadratic
        # in the batch (0.5 s for 2,000 tasks). Analyzing a few thousand staged rows costs ms.
        self.conn.execute(f"analyze {table.staging_table}")

    def _insert(
        self, table: TableLoad, seqs: list[int], rows: list[tuple], batch: Batch, counts: Counts, rejects: list
    ) -> None:
        """Insert the staged rows whose seq is in `seqs` (sorted); bisect on refusal."""
        bounds = {"first": seqs[0], "last": seqs[-1]}
        staged = len(rows)
        try:
            with self.conn.transaction():
                inserted = self.conn.execute(table.insert_sql(), bounds).rowcount
                update = table.update_sql()
                updated = self.conn.execute(update, bounds).rowcount if update else 0
        except ROW_ERRORS as exc:
            if len(seqs) == 1:
                item = batch.items[seqs[0]]
                counts.refused_rows += staged
                rejects.append(
                    RejectedRecord(
                        source=self.source,
                        position=item.where,
                        line_number=item.line,
                        record_type=table.table,
                        reason=_database_reason(exc),
                        original_bytes=item.original_bytes(),
                    )
                )
                return
            middle = len(seqs) // 2
            lower, upper = seqs[:middle], seqs[middle:]
            self._insert(table, lower, [r for r in rows if r[0] <= lower[-1]], batch, counts, rejects)
            self._insert(table, upper, [r for r in rows if r[0] >= upper[0]], batch, counts, rejects)
            return
        counts.loaded += inserted
        counts.updated += updated
        counts.duplicates += staged - inserted - updated


def _rounds(table: TableLoad, rows: list[tuple]) -> list[list[tuple]]:
    """Rows of a merged table (tasks, defects) whose key repeats within the batch are applied
    in order, one occurrence per round, so that each later record merges into the earlier."""
    if not table.merge:
        return [rows]
    rounds: list[list[tuple]] = []
    seen: dict[object, int] = {}
    for row in rows:
        key = row[1]
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(row)
    return rounds


def _database_reason(exc: psycopg.Error) -> str:
    diag = exc.diag
    reason = f"refused by the database: {diag.message_primary or exc}"
    if diag.constraint_name:
        reason += f" (constraint {diag.constraint_name})"
    if diag.message_detail:
        reason += f"; {diag.message_detail}"
    return reason
