"""`asp-telemetry`: the command line. Each module here parses one group of commands and
calls library functions; nothing is computed in the CLI itself."""

from __future__ import annotations

from asp_telemetry.cli import (
    build,
    collect,
    database,
    demo,
    estimate,
    generate,
    load,
    pipeline,
    prices,
    project,
    report,
)
from asp_telemetry.cli.app import app, main

__all__ = ["app", "main"]
_ = (build, collect, database, demo, estimate, generate, load, pipeline, prices, project, report)  # their commands
