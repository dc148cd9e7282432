"""Where things live: the project checkout (dbt project, migrations) and ASP_HOME (state)."""

from __future__ import annotations

import os
from pathlib import Path

from asp_telemetry.errors import ProjectNotFound

_PACKAGE_DIR = Path(__file__).resolve().parent


def project_dir() -> Path:
    """The checkout holding dbt_project.yml, migrations/ and seeds/.

    ASP_PROJECT_DIR wins; otherwise the checkout this package was installed from
    (the package is installed editable from its repository).
    """
    configured = os.environ.get("ASP_PROJECT_DIR")
    candidates = [Path(configured)] if configured else []
    candidates.append(_PACKAGE_DIR.parent.parent)
    for candidate in candidates:
        if (candidate / "dbt_project.yml").is_file():
            return candidate.resolve()
    raise ProjectNotFound(
        "cannot find the asp-telemetry project (dbt_project.yml): set ASP_PROJECT_DIR to the "
        "repository checkout"
    )


def migrations_dir() -> Path:
    return project_dir() / "migrations"


def asp_home() -> Path:
    """State directory: embedded PostgreSQL data, inbox, archive. Defaults to ./.asp."""
    return Path(os.environ.get("ASP_HOME", ".asp")).expanduser().resolve()


def inbox_dir() -> Path:
    """The inbox the ingest reads and the SDK writes: $ASP_INBOX, else $ASP_HOME/inbox."""
    configured = os.environ.get("ASP_INBOX")
    return Path(configured).expanduser().resolve() if configured else asp_home() / "inbox"
