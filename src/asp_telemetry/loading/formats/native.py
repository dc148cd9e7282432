"""Native JSON Lines: one object per line, `"record"` naming the raw table, the other keys
its columns (README, "Native format"). Lines are handed on unparsed: the validator parses
and validates each in one call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from asp_telemetry.loading.formats import Item


def parse(stream: BinaryIO) -> Iterator[Item]:
    for number, line in enumerate(stream, 1):
        if line.isspace() or not line:
            continue  # blank lines carry nothing
        text = line.rstrip(b"\r\n")
        yield Item(number, text, text)
