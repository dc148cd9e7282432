"""Reading the lake back with pyarrow (no Spark), and what PostgreSQL holds to compare with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from asp_telemetry.loading.tables import PYTHON_DEFAULTS, TABLE_LOADS, TableLoad

LINEAGE = ("loaded_at", "load_id", "record_position")
_STATUS_RANK = {"pending": 0, "in_progress": 1}


def dataset(lake: Path, name: str) -> ds.Dataset:
    return ds.dataset(lake / name, format="parquet", partitioning="hive")


def rows(lake: Path, name: str) -> list[dict[str, Any]]:
    """A dataset's rows in load order (load_id, record_position) where it has one."""
    found = dataset(lake, name).to_table().to_pylist()
    if found and "record_position" in found[0]:
        found.sort(key=lambda row: (row["load_id"], row["record_position"]))
    return found


def _json_or_none(value: Any) -> Any:
    return None if value is None else json.loads(value)


def comparable(load: TableLoad, row: dict[str, Any]) -> dict[str, Any]:
    """A lake row's record columns as psycopg returns PostgreSQL's (JSON parsed)."""
    return {c.name: _json_or_none(row[c.name]) if c.json else row[c.name] for c in load.columns}


def _rank(status: str) -> int:
    return _STATUS_RANK.get(status, 2)


def merged(load: TableLoad, versions: list[dict[str, Any]]) -> dict[str, Any]:
    """The contract's merge of a task's or defect's versions in load order (what staging on
    Spark computes), as tables.py merges them on PostgreSQL: the first version with the
    table's defaults (created_at: its loaded_at), then each later one by the merge rules."""
    first = versions[0]
    state = comparable(load, first)
    for column in load.columns:
        if state[column.name] is None and column.default is not None:
            state[column.name] = first["loaded_at"] if column.default == "now()" else PYTHON_DEFAULTS[column.default]
    for version in versions[1:]:
        new = comparable(load, version)
        for name in load.merge:
            given, held = new[name], state[name]
            if load.table == "task_metadata" and name in ("created_at", "started_at"):
                state[name] = min((v for v in (held, given) if v is not None), default=None)
            elif load.table == "task_metadata" and name == "completed_at":
                state[name] = max((v for v in (held, given) if v is not None), default=None)
            elif load.table == "task_metadata" and name == "status":
                if given is not None and _rank(given) >= _rank(held):
                    state[name] = given
            elif given is not None:
                state[name] = given
    return state


def lake_state(lake: Path, table: str) -> dict[Any, dict[str, Any]]:
    """What staging on Spark makes of a raw dataset, by identity: the first row of each
    record_key (cost, bootstrap), the merge of each task's or defect's versions."""
    load = TABLE_LOADS[table]
    found = rows(lake, table)
    if not load.merge:
        state: dict[Any, dict[str, Any]] = {}
        for row in found:
            state.setdefault(row["record_key"], comparable(load, row))
        return state
    versions: dict[Any, list[dict[str, Any]]] = {}
    for row in found:
        versions.setdefault(row[load.key], []).append(row)
    return {key: merged(load, rows_of_key) for key, rows_of_key in versions.items()}
