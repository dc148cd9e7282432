"""`asp-telemetry`: the command line. Each module here parses one group of commands and
calls library functions; nothing is computed in the CLI itself."""

from __future__ import annotations

from asp_telemetry.cli import database, demo, load
from asp_telemetry.cli.app import app, main

__all__ = ["app", "main"]
_ = (database, demo, load)  # imported for their commands
