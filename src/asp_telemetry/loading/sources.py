"""Opening what `load` reads: files (gzip recognised by content), directories, stdin. A
source yields its decompressed bytes, says how far through the raw input it is (for the
progress bar), and knows the SHA-256 of its bytes (for the ledger of loads).

In a directory, a symbolic link is followed only when it points to a file inside that
directory (`follow_links` follows any); links to directories are never followed (no loops).
A path named explicitly is read whatever it is a link to: the user named it. A file name that
is not UTF-8 is shown (and stored) with its odd bytes escaped, as `\\xff`."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from asp_telemetry.errors import AspError

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 1 << 16
READ_BUFFER = 1 << 20
STDIN = "-"


class UnreadableInput(AspError, ValueError):
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


def display_name(path: str | os.PathLike) -> str:
    """A path as text that can be printed and stored: bytes that are not UTF-8 as \\xNN."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


@dataclass
class Source:
    """One input. `open()` once; then `head` holds its first bytes (decompressed). A source
    with a `skipped` reason is not read (a link not followed, something not a regular file)."""

    name: str
    path: Path | None = None
    skipped: str | None = None
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
            if not self.sha256:  # its hash could not be taken when the directory was listed
                self.size = os.fstat(raw.fileno()).st_size
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


def expand(paths: list[str | os.PathLike], follow_links: bool = False) -> list[Source]:
    """Files as given, directories as their files (sorted, recursively, hidden ones skipped),
    `-` as stdin. A missing path or an empty directory is an error before anything loads; a
    file inside a directory that cannot be read fails on its own when its turn comes."""
    sources: list[Source] = []
    for given in paths:
        text = os.fspath(given)
        if text == STDIN:
            sources.append(Source(name="<stdin>"))
            continue
        path = Path(text)
        if path.is_dir():
            found = _directory_sources(path, follow_links)
            if not found:
                raise UnreadableInput(f"{display_name(text)}: directory has no files to load")
            sources.extend(found)
        elif path.is_file():
            sources.append(_file_source(path, strict=True))
        elif path.exists():
            raise UnreadableInput(f"{display_name(text)}: not a regular file")
        else:
            raise UnreadableInput(f"{display_name(text)}: no such file or directory")
    return sources


def _directory_sources(root: Path, follow_links: bool) -> list[Source]:
    real_root = root.resolve()
    found: list[Source] = []
    for directory, subdirectories, files in os.walk(root):  # never into linked directories
        subdirectories[:] = [d for d in subdirectories if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            path = Path(directory) / name
            found.append(_entry(path, real_root, follow_links))
        for name in subdirectories:
            path = Path(directory) / name
            if path.is_symlink():
                found.append(Source(name=display_name(path), path=path,
                                    skipped="a symbolic link to a directory: not followed"))
    return sorted(found, key=lambda source: os.fsencode(source.path))


def _entry(path: Path, real_root: Path, follow_links: bool) -> Source:
    if path.is_symlink():
        target = path.resolve()
        if not follow_links and not target.is_relative_to(real_root):
            return Source(name=display_name(path), path=path, skipped=(
                f"a symbolic link to {display_name(target)}, outside the directory: not followed (--follow-links)"
            ))
    if not path.is_file():
        return Source(name=display_name(path), path=path, skipped="not a regular file (a broken link, a pipe, ...)")
    return _file_source(path, strict=False)


def _file_source(path: Path, strict: bool) -> Source:
    try:
        return Source(name=display_name(path), path=path, size=path.stat().st_size, sha256=_sha256_of(path))
    except OSError as exc:
        if strict:
            raise UnreadableInput(f"{display_name(path)}: cannot read ({exc.strerror})") from None
        return Source(name=display_name(path), path=path)  # fails on its own when opened
