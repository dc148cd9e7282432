"""The schema specification's sample rows and its five analytics queries, kept verbatim.

They run unchanged with search_path = raw: the tests prove the raw schema is the
specification's, and the benchmarks compare the queries with their marts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_SPEC = resources.files("asp_telemetry") / "sql" / "spec"
_QUERY_FILE = re.compile(r"^query_(?P<number>\d)_(?P<name>\w+)\.sql$")


@dataclass(frozen=True)
class SpecQuery:
    number: int
    name: str
    title: str
    sql: str


def sample_data() -> str:
    return (_SPEC / "sample_data.sql").read_text(encoding="utf-8")


def queries() -> list[SpecQuery]:
    found = []
    for entry in _SPEC.iterdir():
        match = _QUERY_FILE.match(entry.name)
        if match:
            text = entry.read_text(encoding="utf-8")
            title = text.splitlines()[0].split(": ", 1)[-1].rstrip(".")
            found.append(SpecQuery(int(match["number"]), match["name"], title, text))
    return sorted(found, key=lambda q: q.number)
