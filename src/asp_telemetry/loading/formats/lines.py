"""Lines of an input, each at most `max_bytes` long: a longer line (a gzip of zeros is one
enormous line) is never held in memory whole. It is read past in chunks and handed on as an
excerpt with its size, so that it becomes one reject and the next line loads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from asp_telemetry.loading.formats import FormatError

EXCERPT_BYTES = 1024
_SKIP_CHUNK = 1 << 20


@dataclass(slots=True)
class LongLine:
    """A line longer than the limit: its first bytes and its whole size (line break excluded)."""

    excerpt: bytes
    size: int


def too_long(size: int, max_bytes: int, what: str = "record") -> str:
    return (
        f"a {what} of {size:,} bytes, longer than the limit of {max_bytes:,} bytes (--max-record-bytes); "
        f"its first {EXCERPT_BYTES:,} bytes are kept"
    )


def rest_of_line(readline) -> int:
    """Read past the rest of a long line, in chunks; returns its size (line break excluded)."""
    size = 0
    while chunk := readline(_SKIP_CHUNK):
        if chunk.endswith(b"\n"):
            return size + len(strip_break(chunk))
        size += len(chunk)
    return size


def strip_break(line: bytes) -> bytes:
    if line.endswith(b"\n"):
        return line[:-2] if line.endswith(b"\r\n") else line[:-1]
    return line


def read_lines(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | LongLine]]:
    """(line number, the line with its line break) for every line; a line whose content
    exceeds max_bytes comes as a LongLine."""
    readline = stream.readline
    limit = max_bytes + 2  # room for \r\n
    number = 0
    while line := readline(limit):
        number += 1
        if len(line) >= limit:
            content = strip_break(line)
            if len(content) > max_bytes or not line.endswith(b"\n"):
                size = len(content) + (0 if line.endswith(b"\n") else rest_of_line(readline))
                yield number, LongLine(content[:EXCERPT_BYTES], size)
                continue
        yield number, line


def document_too_large(what: str, limit: int) -> FormatError:
    return FormatError(
        f"{what} larger than {limit:,} bytes (decompressed): such inputs are read whole to assemble traces, so "
        "their size is bounded; split it into smaller files, or raise --max-document-bytes"
    )


def bounded_lines(first: bytes, stream: BinaryIO, max_bytes: int, line: str, whole: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of JSON Lines input that is read whole (to assemble traces), given
    its first line already read: a line, or the whole, larger than max_bytes fails the input
    (`line` and `whole` name them in the message)."""
    total = 0
    for number, text in read_lines(Prefixed(first, stream), max_bytes):
        if isinstance(text, LongLine):
            raise document_too_large(line, max_bytes)
        total += len(text)
        if total > max_bytes:
            raise document_too_large(whole, max_bytes)
        yield number, text


class Prefixed:
    """A line already read, then the rest of the stream (readline only)."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head: bytes | None = head
        self._rest = rest

    def readline(self, limit: int = -1) -> bytes:
        if self._head is not None:
            head, self._head = self._head, None
            if head.endswith(b"\n") or not head:
                return head
            return head + self._rest.readline(max(limit - len(head), 1) if limit > 0 else -1)
        return self._rest.readline(limit)
