"""The Arrow schemas of the lake's datasets, derived from the loader's own column definitions
(loading/tables.py, from the record models): a column added there is a column here (the
price datasets are Spark's to write: lake/session_prices.py). Types map as PostgreSQL's to
Spark's (docs/spark.md, "Lake"): text -> string, integer -> int32, numeric(p, s) ->
decimal(p, s), timestamptz -> timestamp (UTC, us), boolean, jsonb -> string (JSON text),
text[] -> list<string>.
"""

from __future__ import annotations

import pyarrow as pa

from asp_telemetry.loading.rejects import REJECT_COLUMNS
from asp_telemetry.loading.tables import JSON, TABLE_LOADS, Column, TableLoad

TIMESTAMP = pa.timestamp("us", tz="UTC")
# numeric without a scale (the price columns): what the Spark sources declare too.
UNSCALED_NUMERIC = pa.decimal128(38, 12)
LINEAGE = (
    pa.field("loaded_at", TIMESTAMP, nullable=False),
    pa.field("load_id", pa.string(), nullable=False),
    pa.field("record_position", pa.int64(), nullable=False),
)
# Columns the database fills that are not in a record: a generated date (cost rows'
# execution_date, the UTC date of their timestamp).
GENERATED_DATES = {"agent_cost_vector": ("execution_date", "timestamp")}

_STAGING_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "int": pa.int32(),
    "timestamptz": TIMESTAMP,
    "boolean": pa.bool_(),
    JSON: pa.string(),
    "text[]": pa.list_(pa.string()),
}


def arrow_type(column: Column) -> pa.DataType:
    if column.staging_type == "numeric":
        if column.precision is None:
            return UNSCALED_NUMERIC
        return pa.decimal128(column.precision.precision, column.precision.scale)
    return _STAGING_TYPES[column.staging_type]


def time_column(table: TableLoad) -> str:
    """The record's own time, which dates its partition: the column the database stamps with
    now() when a record leaves it out (timestamp, created_at, measured_at)."""
    return next(c.name for c in table.columns if c.staging_type == "timestamptz" and c.default == "now()")


def appended(table: TableLoad) -> bool:
    """Rows appended once by identity (cost, bootstrap), as opposed to merged versions."""
    return not table.merge


def raw_schema(table: TableLoad) -> pa.Schema:
    """A raw table's dataset: its record columns, what the database adds (record_key, a
    generated date, updated_at of merged tables), and the lineage columns."""
    fields = [pa.field(c.name, arrow_type(c)) for c in table.columns]
    if table.record_key:
        fields.append(pa.field("record_key", pa.string(), nullable=False))
    if table.table in GENERATED_DATES:
        fields.append(pa.field(GENERATED_DATES[table.table][0], pa.date32()))
    if table.merge:
        fields.append(pa.field("updated_at", TIMESTAMP, nullable=False))
    return pa.schema([*fields, *LINEAGE])


RAW_SCHEMAS: dict[str, pa.Schema] = {name: raw_schema(table) for name, table in TABLE_LOADS.items()}

_REJECT_TYPES = {"load_id": pa.string(), "line_number": pa.int64(), "original_bytes": pa.binary()}
REJECTS_SCHEMA = pa.schema(
    [pa.field(name, _REJECT_TYPES.get(name, pa.string())) for name in REJECT_COLUMNS]
    + [pa.field("rejected_at", TIMESTAMP, nullable=False)]
)

LOADS_SCHEMA = pa.schema([
    pa.field("load_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("content_sha256", pa.string()),
    pa.field("size_bytes", pa.int64()),
    pa.field("format", pa.string()),
    pa.field("table_name", pa.string()),
    pa.field("strict", pa.bool_(), nullable=False),
    pa.field("started_at", TIMESTAMP, nullable=False),
    pa.field("finished_at", TIMESTAMP, nullable=False),
    pa.field("status", pa.string(), nullable=False),
    pa.field("records_read", pa.int64()),
    pa.field("loaded", pa.int64()),
    pa.field("updated", pa.int64()),
    pa.field("duplicates", pa.int64()),
    pa.field("rejected", pa.int64()),
    pa.field("error", pa.string()),
])

# One row per bootstrap snapshot recorded into the lake (lake/snapshot.py), with or without
# rows: the view raw.bootstrap_metrics takes a period's last snapshot from it.
SNAPSHOTS_SCHEMA = pa.schema([
    pa.field("measurement_period_start", TIMESTAMP, nullable=False),
    pa.field("measurement_period_end", TIMESTAMP, nullable=False),
    pa.field("measured_at", TIMESTAMP, nullable=False),
    pa.field("load_id", pa.string(), nullable=False),
])
