"""Native JSON Lines: one object per line, `"record"` naming the raw table, the other keys
its columns (README, "Native format"). Lines are handed on unparsed: the validator parses
and validates each in one call. A line longer than the record size limit is read past in
chunks and rejected with an excerpt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from asp_telemetry.loading.formats import Item
from asp_telemetry.loading.formats.lines import EXCERPT_BYTES, rest_of_line, strip_break, too_long


def parse(stream: BinaryIO, max_record_bytes: int) -> Iterator[Item]:
    # The loader's hot path: the loop of lines.read_lines, inlined.
    readline = stream.readline
    limit = max_record_bytes + 2  # room for \r\n
    number = 0
    while line := readline(limit):
        number += 1
        if len(line) >= limit:
            content = strip_break(line)
            if len(content) > max_record_bytes or not line.endswith(b"\n"):
                size = len(content) + (0 if line.endswith(b"\n") else rest_of_line(readline))
                yield Item(number, content[:EXCERPT_BYTES], None, error=too_long(size, max_record_bytes))
                continue
        if line.isspace():
            continue  # blank lines carry nothing
        yield Item(number, line, line.rstrip(b"\r\n"))  # the reject of a line drops its break only
