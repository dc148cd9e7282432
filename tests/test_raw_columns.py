"""Every raw column is declared once for the loader, by a field of its record model
(loading/records.py): the loader's column lists are derived from the models, and this test
holds the models to the database's catalogue (name, type, default) and to the documentation
of the dbt sources (models/staging/_asp__sources.yml). A new column is a migration, a model
field and its description."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from asp_telemetry import connection
from asp_telemetry.loading.records import TABLES
from asp_telemetry.loading.tables import TABLE_LOADS

SOURCES = Path(__file__).resolve().parents[1] / "models" / "staging" / "_asp__sources.yml"
# Filled by the database or the loader itself, never by a record.
MANAGED = {"id", "execution_date", "loaded_at", "updated_at", "record_key"}
STAGING_TYPES = {
    "character varying": "text", "text": "text", "integer": "int", "numeric": "numeric", "boolean": "boolean",
    "timestamp with time zone": "timestamptz", "jsonb": "jsonb", "ARRAY": "text[]",
}


def _catalogue(info) -> dict[str, dict[str, tuple[str, str | None]]]:
    with connection.connect(info) as conn:
        rows = conn.execute(
            "select table_name, column_name, data_type, column_default from information_schema.columns"
            " where table_schema = 'raw' and table_name = any(%s) order by ordinal_position",
            [list(TABLES)],
        ).fetchall()
    tables: dict[str, dict[str, tuple[str, str | None]]] = {table: {} for table in TABLES}
    for table, column, data_type, default in rows:
        tables[table][column] = (data_type, default)
    return tables


def _without_cast(default: str | None) -> str | None:
    return None if default is None else re.sub(r"::[a-z ]+$", "", default)


def test_the_loaders_columns_are_the_catalogues(db):
    catalogue = _catalogue(db)
    for table in TABLES:
        expected = {
            column: (STAGING_TYPES[data_type], _without_cast(default))
            for column, (data_type, default) in catalogue[table].items() if column not in MANAGED
        }
        derived = {c.name: (c.staging_type, c.default) for c in TABLE_LOADS[table].columns}
        assert derived == expected, table


@pytest.mark.parametrize("table", TABLES)
def test_every_raw_column_is_documented_as_a_dbt_source_column(db, table):
    tables = {t["name"]: t for t in yaml.safe_load(SOURCES.read_text())["sources"][0]["tables"]}
    documented = {c["name"]: c.get("description") for c in tables[table]["columns"]}
    assert set(documented) == set(_catalogue(db)[table])
    assert all(documented.values()), [name for name, text in documented.items() if not text]
