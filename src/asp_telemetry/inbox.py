"""The inbox: files waiting to be loaded ($ASP_HOME/inbox, where the SDK writes).

Each complete file is loaded, then moved to `archive/<date>/` inside the inbox, or to
`quarantine/` when it could not be read at all (with a `.reason.txt` beside it). Files still
being written (`*.tmp`; the SDK and the generator rename them when complete) and hidden files
are never taken. Loading is idempotent, so a file seen twice, under any name, adds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from asp_telemetry.connection import ConnectionInfo

ARCHIVE = "archive"
QUARANTINE = "quarantine"


class InboxFile(BaseModel):
    name: str
    outcome: Literal["archived", "quarantined"]
    moved_to: Path
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str | None = None


class IngestResult(BaseModel):
    inbox: Path
    files: list[InboxFile] = []

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)

    @property
    def updated(self) -> int:
        return sum(f.updated for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def quarantined(self) -> list[InboxFile]:
        return [f for f in self.files if f.outcome == "quarantined"]


def ready_files(inbox: Path) -> list[Path]:
    """Complete files waiting in the inbox, oldest first."""
    if not inbox.is_dir():
        return []
    files = [
        path for path in inbox.iterdir()
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".tmp")
    ]
    return sorted(files, key=lambda path: (path.stat().st_mtime, path.name))


def _move(path: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / path.name
    counter = 1
    while target.exists():
        target = directory / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    path.replace(target)
    return target


def ingest_file(info: ConnectionInfo, path: Path) -> InboxFile:
    """Load one inbox file and move it out of the inbox."""
    from asp_telemetry import loading

    inbox = path.parent
    try:
        [summary] = loading.load_paths(info, [path])
        error = summary.error if summary.status == "failed" else None
    except loading.UnreadableInput as exc:
        summary, error = None, str(exc)
    if error is not None:
        moved = _move(path, inbox / QUARANTINE)
        moved.with_name(moved.name + ".reason.txt").write_text(error + "\n", encoding="utf-8")
        return InboxFile(name=path.name, outcome="quarantined", moved_to=moved, error=error)
    moved = _move(path, inbox / ARCHIVE / f"{datetime.now(UTC):%Y-%m-%d}")
    return InboxFile(
        name=path.name, outcome="archived", moved_to=moved, loaded=summary.loaded, updated=summary.updated,
        duplicates=summary.duplicates, rejected=summary.rejected,
    )


def ingest(info: ConnectionInfo, inbox: Path) -> IngestResult:
    """Load every complete file in the inbox."""
    return IngestResult(inbox=inbox, files=[ingest_file(info, path) for path in ready_files(inbox)])
