"""The collector's spool: what makes a 200 durable.

Every accepted request is appended to the current segment file as one frame and fsynced
before it is acknowledged; concurrent requests share an fsync (group commit). A segment is
deleted once it is closed (the next one started) and every trace its requests carried spans
of has been loaded: until then a crash loses nothing, since a restart reads the segments left
(`replay`) and loads them again, and the loader's identities make a second load add nothing.

A frame: a 24-byte header (magic, body length, CRC-32 of what follows the header, request
number, body kind, token name length), the token's name, then the body as received (after
gzip). A torn frame at the end of a segment (a crash during a write, never acknowledged) is
cut off on replay.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from asp_telemetry.errors import AspError

HEADER = struct.Struct(">4sIIQBxH")
MAGIC = b"ASPQ"
SUFFIX = ".spool"
DEFAULT_SEGMENT_BYTES = 32 << 20
SEGMENT_MAX_AGE_S = 2.0  # a segment older than this is closed at the next look, so it can go


@dataclass(frozen=True)
class Frame:
    seq: int
    segment: int
    kind: int
    token: str | None
    body: bytes


@dataclass
class _Segment:
    number: int
    path: Path
    appended: int = 0  # requests written to it
    done: int = 0  # requests whose traces are all loaded
    closed: bool = False
    size: int = 0


class SpoolBusy(AspError, RuntimeError):
    pass


class Spool:
    def __init__(self, directory: Path, segment_bytes: int = DEFAULT_SEGMENT_BYTES):
        self.directory = directory
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(directory / "collector.lock", "a+b")  # noqa: SIM115 - held for the spool's life
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise SpoolBusy(
                f"another collector uses the spool {directory}: stop it, or give this one --spool DIR"
            ) from None
        self._lock = threading.Lock()  # appends, segment bookkeeping
        self._sync_lock = threading.Lock()  # one fsync at a time; later writers ride on it
        self._segments: dict[int, _Segment] = {}
        self._seq = 0
        self._file = None
        self._current: _Segment | None = None
        self._written = 0  # bytes written to the current file
        self._synced = 0
        self._opened_at = 0.0
        self.backlog_bytes = 0
        self._left = sorted(
            int(path.name.removesuffix(SUFFIX)) for path in directory.glob(f"*{SUFFIX}")
            if path.name.removesuffix(SUFFIX).isdigit()
        )

    def replay(self) -> Iterator[Frame]:
        """The frames of the segments a previous run left, oldest first (call once, before
        the first append). A torn frame at a segment's end is cut off."""
        for number in self._left:
            path = self.directory / f"{number:020d}{SUFFIX}"
            segment = _Segment(number, path)  # closed once all its frames are handed out
            self._segments[number] = segment
            frames, good = self._read(path, number)
            if good < path.stat().st_size:
                with open(path, "r+b") as handle:
                    handle.truncate(good)
                    os.fsync(handle.fileno())
            segment.size = good
            self.backlog_bytes += good
            for frame in frames:
                segment.appended += 1
                self._seq = max(self._seq, frame.seq)
                yield frame
            self._seq = max(self._seq, number)
            segment.closed = True
            self.release(number, 0)  # goes now if its requests are all done (or it had none)
        self._left = []

    @staticmethod
    def _read(path: Path, number: int) -> tuple[list[Frame], int]:
        data = path.read_bytes()
        frames, offset = [], 0
        while offset + HEADER.size <= len(data):
            magic, length, crc, seq, kind, token_length = HEADER.unpack_from(data, offset)
            end = offset + HEADER.size + token_length + length
            if magic != MAGIC or end > len(data):
                break
            rest = data[offset + HEADER.size:end]
            if zlib.crc32(rest) != crc:
                break
            token = rest[:token_length].decode("utf-8") or None
            frames.append(Frame(seq, number, kind, token, rest[token_length:]))
            offset = end
        return frames, offset

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def append(self, seq: int, kind: int, token: str | None, body: bytes) -> int:
        """Write one request and fsync it (durable when this returns); its segment's number."""
        name = (token or "").encode("utf-8")
        rest = name + body
        frame = HEADER.pack(MAGIC, len(body), zlib.crc32(rest), seq, kind, len(name)) + rest
        with self._lock:
            if self._current is None or self._written >= self.segment_bytes:
                self._open_segment(seq)
            segment, handle = self._current, self._file
            handle.write(frame)
            self._written += len(frame)
            segment.appended += 1
            segment.size += len(frame)
            self.backlog_bytes += len(frame)
            target = self._written
        with self._sync_lock:
            # Closing a segment fsyncs it; another request's fsync may have covered this frame.
            if handle is not self._file or self._synced >= target:
                return segment.number
            written = self._written  # every byte up to here is in the file's buffer
            handle.flush()
            os.fsync(handle.fileno())
            self._synced = max(self._synced, written)
        return segment.number

    def _open_segment(self, seq: int) -> None:
        """Close the current segment (flushed and fsynced) and start one; under self._lock."""
        with self._sync_lock:
            self._close_current()
            path = self.directory / f"{seq:020d}{SUFFIX}"
            self._file = open(path, "ab", buffering=1 << 20)  # noqa: SIM115 - the current segment
            self._current = _Segment(seq, path)
            self._segments[seq] = self._current
            self._written = self._synced = 0
            self._opened_at = time.monotonic()
            directory = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(directory)  # the new file's name is durable too
            finally:
                os.close(directory)

    def _close_current(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
        if self._current is not None:
            closed = self._current
            closed.closed = True
            self._current = None
            self._delete_if_done(closed)

    def rotate_if_old(self) -> None:
        """Close the current segment if it has been open a while, so that it can be deleted
        once loaded (an idle collector keeps no spool)."""
        with self._lock:
            if self._current is not None and time.monotonic() - self._opened_at >= SEGMENT_MAX_AGE_S:
                with self._sync_lock:
                    self._close_current()

    def release(self, segment: int, requests: int) -> None:
        """`requests` more requests of `segment` have all their traces loaded."""
        with self._lock:
            found = self._segments.get(segment)
            if found is None:
                return
            found.done += requests
            self._delete_if_done(found)

    def _delete_if_done(self, segment: _Segment) -> None:
        if segment.closed and segment.done >= segment.appended:
            segment.path.unlink(missing_ok=True)
            self.backlog_bytes -= segment.size
            del self._segments[segment.number]

    def segments(self) -> int:
        with self._lock:
            return len(self._segments)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                with self._sync_lock:
                    self._file.flush()
                    os.fsync(self._file.fileno())
                    self._file.close()
                    self._file = None
            self._current = None
        self._lock_file.close()
