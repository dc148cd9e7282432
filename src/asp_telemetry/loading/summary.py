"""What became of a load: one summary per source, and the progress a caller may follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from asp_telemetry.loading.writer import Counts


@dataclass
class LoadSummary:
    """What became of one source's records: read = loaded + updated + duplicates + rejected."""

    source: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    status: str = "complete"  # complete | rolled_back | failed | interrupted | skipped
    error: str | None = None
    load_id: int | str | None = None  # the lake's are strings (lake.paths.new_load_id)
    retryable: bool = False  # interrupted by something passing (a lost connection): try again

    @property
    def ok(self) -> bool:
        return self.status in ("complete", "skipped")

    @property
    def conserved(self) -> bool:
        """Every record read is accounted for (a rolled-back load keeps only its rejects)."""
        return self.status == "rolled_back" or self.read == self.loaded + self.updated + self.duplicates + self.rejected

    def take(self, counts: Counts) -> None:
        """The writer's counts become the summary's (a rolled-back load keeps only its rejects)."""
        self.read = counts.read
        self.loaded, self.updated = counts.loaded, counts.updated
        self.duplicates, self.rejected = counts.duplicates, counts.rejected
        if self.status == "rolled_back":  # nothing of it stayed
            self.loaded = self.updated = self.duplicates = 0

    def line(self) -> str:
        if self.status == "skipped":
            return f"{self.source}: skipped, {self.error}"
        parts = [f"{self.loaded} loaded"]
        if self.updated:
            parts.append(f"{self.updated} updated")
        parts += [f"{self.duplicates} duplicates skipped", f"{self.rejected} rejected"]
        text = f"{self.source}: {self.read} read: {', '.join(parts)}"
        if self.status == "rolled_back":
            text = f"{self.source}: rolled back (--strict), {self.rejected} rejected, nothing loaded"
        if self.error:
            text += f"; {self.error}"
        return text


@dataclass
class FileLoadSummary(LoadSummary):
    format: str | None = None
    content_sha256: str | None = None


class Progress(Protocol):
    def start(self, source: str, total_bytes: int | None) -> None: ...
    def advance(self, done_bytes: int) -> None: ...
    def finish(self, summary: FileLoadSummary) -> None: ...
