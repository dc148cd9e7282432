"""The vocabularies records are checked against, read from the dbt seeds at load time, so a
team extends them by editing a seed: agent roles, metric types with their unit, defect types."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from asp_telemetry import paths


@dataclass(frozen=True)
class Vocabulary:
    roles: frozenset[str]
    metric_units: dict[str, str]  # metric_type -> its unit
    defect_types: frozenset[str]


def _rows(path: Path, *columns: str) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"seed {path} lacks the column(s) {', '.join(missing)}")
            return [row for row in reader if any(row.values())]
    except FileNotFoundError:
        raise FileNotFoundError(f"seed {path} is missing: the loader checks records against it") from None


def load(seeds_dir: Path | None = None) -> Vocabulary:
    seeds = seeds_dir or paths.project_dir() / "seeds"
    roles = _rows(seeds / "agent_roles.csv", "agent_role")
    metrics = _rows(seeds / "metric_types.csv", "metric_type", "metric_unit")
    defects = _rows(seeds / "defect_types.csv", "defect_type")
    return Vocabulary(
        roles=frozenset(r["agent_role"].strip() for r in roles),
        metric_units={r["metric_type"].strip(): r["metric_unit"].strip() for r in metrics},
        defect_types=frozenset(r["defect_type"].strip() for r in defects),
    )
