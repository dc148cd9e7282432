"""Errors meant for the user: the CLI prints their message (one line, exit status 1) and no
traceback. Anything else that escapes a command is a bug and keeps its traceback.

Each also derives from the built-in exception it refines, so library callers may catch
that (`except ValueError`) as before.
"""

from __future__ import annotations


class AspError(Exception):
    """Something the user can act on; the message says what is wrong and what to do."""


class InvalidInput(AspError, ValueError):
    """An argument, option or parameter is out of range or inconsistent."""


class NotBuilt(AspError, LookupError):
    """A dbt relation the command reads does not exist yet."""


class ProjectNotFound(AspError, FileNotFoundError):
    """The asp-telemetry checkout (dbt project, migrations, seeds) cannot be found."""


class DatabaseUnavailable(AspError, RuntimeError):
    """PostgreSQL cannot be reached (or the embedded server cannot start)."""

    def __init__(self, where: str, reason: str):
        super().__init__(
            f"cannot connect to PostgreSQL at {where}: {reason.strip()}\n"
            "Check ASP_DATABASE_URL or the PG* variables, or unset them to use the embedded server."
        )


class EmbeddedServerError(AspError, RuntimeError):
    """The embedded PostgreSQL could not do what was asked (start, reload its
    authentication, listen where asked); the message says what to do."""


class LoginError(AspError, ValueError):
    """A login cannot be made, changed or removed; the message says why. Nothing changed."""


class MigrationError(AspError, RuntimeError):
    """The migrations on disk and the database disagree; the message says how to fix it."""


class PipelineBusy(AspError, RuntimeError):
    """Another pipeline held the lock for longer than the caller would wait."""


class BuildFailed(AspError, RuntimeError):
    """dbt could not build, or a model or test failed; the message names them."""


class SchemaNotReady(AspError, ValueError):
    """The database lacks the tables a command needs (migrations not applied)."""
