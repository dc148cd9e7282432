"""Embedded servers of a test's own (their own ASP_HOME), for tests of the server itself."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from asp_telemetry import embedded


@contextlib.contextmanager
def asp_home(prefix: str = "asp-own-") -> Iterator[Path]:
    """A fresh ASP_HOME for the duration (not under pytest's basetemp: see conftest.pg_server)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    previous = os.environ.get("ASP_HOME")
    os.environ["ASP_HOME"] = str(home)
    try:
        yield home
    finally:
        try:
            embedded.stop()
        finally:
            shutil.rmtree(home, ignore_errors=True)
            if previous is None:
                os.environ.pop("ASP_HOME", None)
            else:
                os.environ["ASP_HOME"] = previous


@contextlib.contextmanager
def own_embedded_server(listen: embedded.Listen | None = None) -> Iterator[embedded.EmbeddedServer]:
    """An embedded server started in a fresh ASP_HOME, stopped and removed afterwards."""
    with asp_home():
        yield embedded.start(listen)
