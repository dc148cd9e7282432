"""Opening what `load` reads: files (gzip recognised by content), directories, stdin. A
source yields its decompressed bytes, says how far through the raw input it is (for the
progress bar), and knows the SHA-256 of its bytes (for the ledger of loads)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 1 << 16
READ_BUFFER = 1 << 20
STDIN = "-"


class UnreadableInput(ValueError):
    """An input that cannot be read at all (missing, a directory with nothing in it, not
    gzip although it says so): nothing of it was loaded."""


class _HashingReader(io.RawIOBase):
    """Passes bytes through, counting them and (unless told the hash is known) hashing them."""

    def __init__(self, raw: BinaryIO, hashing: bool = True):
        self._raw = raw
        self.digest = hashlib.sha256() if hashing else None
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if self.digest is not None:
            self.digest.update(data)
        self.count += n
        return n


class _Prefixed(io.RawIOBase):
    """The head already read, then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class Source:
    """One input. `open()` once; then `head` holds its first bytes (decompressed)."""

    name: str
    path: Path | None = None
    size: int | None = None
    sha256: str | None = None  # of a file, computed before reading; a stream's once it is read
    head: bytes = b""
    compressed: bool = False
    _counter: _HashingReader | None = field(default=None, repr=False)
    _handles: list = field(default_factory=list, repr=False)

    @property
    def identity(self) -> str:
        """What identifies this input's content for reject keys: the SHA-256 of a file,
        known before reading; a stream is identified by its name only."""
        return self.sha256 or f"stream:{self.name}"

    def open(self) -> BinaryIO:
        if self.path is not None:
            try:
                raw: BinaryIO = self.path.open("rb")
            except OSError as exc:
                raise UnreadableInput(f"{self.name}: cannot read ({exc.strerror})") from None
        else:
            raw = sys.stdin.buffer
        self._handles.append(raw)
        self._counter = _HashingReader(raw, hashing=self.sha256 is None)  # a file's is known already
        counted = io.BufferedReader(self._counter, buffer_size=READ_BUFFER)
        self.compressed = counted.peek(2)[:2] == GZIP_MAGIC
        stream: BinaryIO = gzip.GzipFile(fileobj=counted, mode="rb") if self.compressed else counted
        try:
            self.head = stream.read(HEAD_BYTES)
        except (OSError, EOFError) as exc:
            raise UnreadableInput(f"{self.name}: not a readable gzip file ({exc})") from None
        return io.BufferedReader(_Prefixed(self.head, stream), buffer_size=READ_BUFFER)

    def bytes_read(self) -> int:
        return self._counter.count if self._counter else 0

    def content_sha256(self) -> str | None:
        """The SHA-256 of the raw bytes; for a stream, once it has been read to the end."""
        if self.sha256:
            return self.sha256
        return self._counter.digest.hexdigest() if self._counter and self._counter.digest else None

    def close(self) -> None:
        for handle in self._handles:
            if handle is not sys.stdin.buffer:
                handle.close()
        self._handles.clear()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(READ_BUFFER):
            digest.update(chunk)
    return digest.hexdigest()


def expand(paths: list[str | os.PathLike]) -> list[Source]:
    """Files as given, directories as their files (sorted, recursively, hidden ones skipped),
    `-` as stdin. A missing path or an empty directory is an error before anything loads."""
    sources: list[Source] = []
    for given in paths:
        text = os.fspath(given)
        if text == STDIN:
            sources.append(Source(name="<stdin>"))
            continue
        path = Path(text)
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                raise UnreadableInput(f"{text}: directory has no files to load")
            sources.extend(_file_source(p) for p in files)
        elif path.is_file():
            sources.append(_file_source(path))
        elif path.exists():
            raise UnreadableInput(f"{text}: not a regular file")
        else:
            raise UnreadableInput(f"{text}: no such file or directory")
    return sources


def _file_source(path: Path) -> Source:
    try:
        return Source(name=str(path), path=path, size=path.stat().st_size, sha256=_sha256_of(path))
    except OSError as exc:
        raise UnreadableInput(f"{path}: cannot read ({exc.strerror})") from None
