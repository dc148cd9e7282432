"""The inbox: files waiting to be loaded (the configured inbox, $ASP_INBOX or $ASP_HOME/inbox,
where the SDK writes).

Each complete file is loaded, then moved to `archive/<date>/` inside the inbox. A file whose
load fails (unreadable, too large, over its time limit, or anything else) is moved to
`quarantine/` with a `<name>.reason.txt` beside it, and the other files load: one poison file
never blocks the inbox. A lost connection is retried a few times first; when the database
cannot be reached at all, DatabaseUnavailable is raised and the files stay for the next run.
Files still being written (`*.tmp`; the SDK and the generator rename them when complete) and
hidden files are never taken; a symbolic link is quarantined, never followed. Loading is
idempotent, so a file seen twice, under any name, adds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from asp_telemetry import paths
from asp_telemetry.connection import ConnectionInfo, DatabaseUnavailable
from asp_telemetry.errors import InvalidInput

ARCHIVE = "archive"
QUARANTINE = "quarantine"
DEFAULT_FILE_TIME_LIMIT_S = 1800.0
RETRY_DELAYS_S = (2.0, 10.0)  # between the attempts at a file whose connection was lost


class InboxFile(BaseModel):
    name: str
    outcome: Literal["archived", "quarantined"]
    moved_to: Path
    read: int = 0
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    attempts: int = 1
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


class NotTheInbox(InvalidInput):
    """The ingest was asked to read a directory other than the configured inbox."""


def configured_inbox(requested: str | Path | None = None) -> Path:
    """The configured inbox; a directory asked for must be it (a flow parameter cannot make
    the ingest read, and move, files anywhere else)."""
    inbox = paths.inbox_dir()
    if requested is None or str(requested) == "":
        return inbox
    if Path(requested).expanduser().resolve() != inbox.resolve():
        raise NotTheInbox(
            f"the ingest reads only the configured inbox ({inbox}), not {requested}: set ASP_INBOX (or ASP_HOME) "
            "to ingest another directory"
        )
    return inbox


def ready_files(inbox: Path) -> list[Path]:
    """Complete files waiting in the inbox (and symbolic links, to be quarantined), oldest
    first. A name that is not UTF-8 is renamed with its odd bytes escaped (`\\xff`), so that
    logs, the ledger and Prefect can all name it."""
    if not inbox.is_dir():
        return []
    files = [
        _utf8_name(path) for path in inbox.iterdir()
        if (path.is_symlink() or path.is_file()) and not path.name.startswith(".") and not path.name.endswith(".tmp")
    ]
    return sorted(files, key=lambda path: (path.lstat().st_mtime, path.name))


def _utf8_name(path: Path) -> Path:
    from asp_telemetry.loading.sources import display_name

    name = display_name(path.name)
    if name == path.name:
        return path
    target = path.with_name(name)
    counter = 1
    while target.exists() or target.is_symlink():
        target = path.with_name(f"{counter}-{name}")
        counter += 1
    path.replace(target)
    return target


def _move(path: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / path.name
    counter = 1
    while target.exists() or target.is_symlink():
        target = directory / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    path.replace(target)
    return target


def quarantine(path: Path, reason: str, attempts: int = 1) -> InboxFile:
    from asp_telemetry.loading.sources import display_name

    moved = _move(path, path.parent / QUARANTINE)
    note = moved.with_name(moved.name + ".reason.txt")
    note.write_text(
        f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} quarantined after {attempts} attempt(s): {reason}\n"
        "Repair the file and move it back into the inbox to load it again.\n",
        encoding="utf-8", errors="backslashreplace",
    )
    return InboxFile(name=display_name(path.name), outcome="quarantined", moved_to=moved, error=reason,
                     attempts=attempts)


def _load(destination: ConnectionInfo | Path, path: Path, limits):
    """One file into the database, or into the lake when `destination` is a lake directory."""
    from asp_telemetry import loading

    if isinstance(destination, Path):
        from asp_telemetry import lake

        return lake.load_paths(destination, [path], limits=limits)
    return loading.load_paths(destination, [path], limits=limits)


def ingest_file(info: ConnectionInfo | Path, path: Path, time_limit_s: float | None = DEFAULT_FILE_TIME_LIMIT_S,
                retry_delays_s: Sequence[float] | None = None) -> InboxFile:
    """Load one inbox file and move it out of the inbox: archived, or quarantined with the
    reason. `info` is the database, or a lake directory (`--target spark`: lake/). Raises
    DatabaseUnavailable only when the database cannot be reached (LakeWriteError when the
    lake cannot be written): the file stays."""
    from asp_telemetry import loading
    from asp_telemetry.loading.sources import display_name

    if retry_delays_s is None:
        retry_delays_s = RETRY_DELAYS_S

    if path.is_symlink():
        return quarantine(path, "a symbolic link: the inbox loads regular files only, and does not follow links")
    attempts = 0
    while True:
        attempts += 1
        try:
            [summary] = _load(info, path, loading.Limits(time_limit_s=time_limit_s))
        except loading.UnreadableInput as exc:
            return quarantine(path, str(exc), attempts)
        except DatabaseUnavailable:
            if attempts > len(retry_delays_s):
                raise  # the database is down, not the file: it stays in the inbox
            time.sleep(retry_delays_s[attempts - 1])
            continue
        except Exception as exc:  # noqa: BLE001 - one file's failure never blocks the inbox
            return quarantine(path, f"could not be loaded ({type(exc).__name__}: {exc})", attempts)
        if summary.retryable and attempts <= len(retry_delays_s):
            time.sleep(retry_delays_s[attempts - 1])
            continue
        if summary.retryable:
            _require_destination(info, summary.error)  # down now: the file is not to blame, it stays in the inbox
        if not summary.ok:
            return quarantine(path, summary.error or summary.status, attempts)
        moved = _move(path, path.parent / ARCHIVE / f"{datetime.now(UTC):%Y-%m-%d}")
        return InboxFile(
            name=display_name(path.name), outcome="archived", moved_to=moved, read=summary.read,
            loaded=summary.loaded, updated=summary.updated, duplicates=summary.duplicates,
            rejected=summary.rejected, attempts=attempts,
        )


def _require_destination(info: ConnectionInfo | Path, error: str | None) -> None:
    """Raise if the destination, not the file, is what failed: the database cannot be
    reached (DatabaseUnavailable), or the lake could not be written (a full disk)."""
    if isinstance(info, Path):
        from asp_telemetry.lake.files import LakeWriteError

        raise LakeWriteError(f"{error}; the file stays in the inbox for the next run")
    from asp_telemetry.connection import connect

    connect(info).close()


def ingest(info: ConnectionInfo | Path, inbox: Path,
           time_limit_s: float | None = DEFAULT_FILE_TIME_LIMIT_S) -> IngestResult:
    """Load every complete file in the inbox (into the database, or a lake directory)."""
    return IngestResult(inbox=inbox, files=[ingest_file(info, path, time_limit_s) for path in ready_files(inbox)])
