"""What the CLI does with an exception: an error meant for the user (the AspError family, the
loader's own user errors among them) is one line on stderr and exit status 1; anything else
is a bug and keeps its traceback."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from asp_telemetry.cli.app import handle_errors
from asp_telemetry.errors import AspError, InvalidInput, NotBuilt, SchemaNotReady
from asp_telemetry.loading import FormatError, UnreadableInput

RAISED = {
    "invalid": InvalidInput("--tasks must be at least 1 (got 0)"),
    "not-built": NotBuilt("the marts are not built yet: run `asp-telemetry build` first"),
    "format": FormatError("unknown format 'xml': use one of native, csv, otlp, langfuse"),
    "key-error": KeyError("agent_role"),
    "value-error": ValueError("a bug that happens to be a ValueError"),
}


def _app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.command()
    @handle_errors
    def fail(kind: str) -> None:
        raise RAISED[kind]

    return app


@pytest.mark.parametrize("kind", ["invalid", "not-built", "format"])
def test_a_user_error_is_one_line_and_exit_status_1(kind):
    result = CliRunner().invoke(_app(), [kind])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {RAISED[kind]}"
    assert "Traceback" not in result.output


@pytest.mark.parametrize("kind", ["key-error", "value-error"])
def test_a_bug_is_not_dressed_as_a_user_error(kind):
    result = CliRunner().invoke(_app(), [kind])
    assert result.exit_code == 1
    assert result.exception is RAISED[kind]  # propagated: Python prints its traceback
    assert "error:" not in result.output


def test_user_errors_are_still_the_built_in_exceptions_they_refine():
    assert isinstance(RAISED["invalid"], ValueError) and isinstance(RAISED["invalid"], AspError)
    assert isinstance(RAISED["not-built"], LookupError)


@pytest.mark.parametrize("error", [FormatError, UnreadableInput, SchemaNotReady])
def test_the_loaders_user_errors_are_asp_errors(error):
    assert issubclass(error, AspError) and issubclass(error, ValueError)


@pytest.mark.parametrize(("args", "env", "said"), [
    (["build", "--target", "nope"], {}, "unknown build target 'nope'"),
    (["build", "--changed-only"], {"ASP_TARGET": "spark"}, "--changed-only plans builds on PostgreSQL only"),
])
def test_build_target_errors_say_what_to_do(args, env, said):
    """A wrong --target (or ASP_TARGET) is refused before anything starts, in one line."""
    from asp_telemetry.cli import _load

    result = CliRunner().invoke(_load(), args, env=env)  # the app with every command
    assert result.exit_code == 1
    assert said in result.output
    assert "Traceback" not in result.output
