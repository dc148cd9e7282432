"""Where things live: the project (dbt project, migrations, seeds, flows) and ASP_HOME (state).

The project is, in this order: $ASP_PROJECT_DIR; the repository checkout of an editable
install; the copy shipped inside the installed package (read-only: dbt's target/ and logs/
then go under $ASP_HOME/dbt). `asp-telemetry init DIR` copies it for a team to edit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from asp_telemetry.errors import ProjectNotFound

_PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_VARIABLE = "ASP_PROJECT_DIR"
# The copy of the project a wheel carries (setup.py's build_py puts it there).
PACKAGED_PROJECT_DIR = _PACKAGE_DIR / "project"
ProjectKind = Literal["configured", "checkout", "packaged"]


def _is_project(directory: Path) -> bool:
    return (directory / "dbt_project.yml").is_file()


def project() -> tuple[Path, ProjectKind]:
    """The project directory and where it was found."""
    configured = os.environ.get(PROJECT_VARIABLE)
    if configured:
        directory = Path(configured).expanduser()
        if not _is_project(directory):
            raise ProjectNotFound(
                f"{PROJECT_VARIABLE}={configured} holds no dbt_project.yml: point it at an asp-telemetry "
                "project (`asp-telemetry init DIR` makes one), or unset it to use the installed project"
            )
        return directory.resolve(), "configured"
    checkout = _PACKAGE_DIR.parent.parent
    if _is_project(checkout) and (checkout / "src" / "asp_telemetry").is_dir():
        return checkout, "checkout"
    if _is_project(PACKAGED_PROJECT_DIR):
        return PACKAGED_PROJECT_DIR, "packaged"
    raise ProjectNotFound(
        "cannot find the asp-telemetry project (dbt_project.yml): this installation carries no copy of it; "
        f"set {PROJECT_VARIABLE} to a checkout of the repository or a copy made by `asp-telemetry init`"
    )


def project_dir() -> Path:
    """The directory holding dbt_project.yml, profiles.yml, models/, seeds/, migrations/."""
    return project()[0]


def migrations_dir() -> Path:
    return project_dir() / "migrations"


def dbt_state_dirs() -> tuple[Path, Path] | None:
    """(target path, log path) for dbt when the project is the installed, read-only copy;
    None when dbt writes target/ and logs/ inside the project as usual."""
    if project()[1] != "packaged":
        return None
    state = asp_home() / "dbt"
    return state / "target", state / "logs"


def dbt_log_file() -> Path:
    """Where dbt's own log goes."""
    state = dbt_state_dirs()
    return (state[1] if state else project_dir() / "logs") / "dbt.log"


def use_project_of(entrypoint: str) -> None:
    """For the flow entrypoints in a project's flows/ directory: runs started from them use
    that project, unless ASP_PROJECT_DIR already names one."""
    directory = Path(entrypoint).resolve().parent.parent
    if _is_project(directory):
        os.environ.setdefault(PROJECT_VARIABLE, str(directory))


def asp_home() -> Path:
    """State directory: embedded PostgreSQL data, inbox, archive. Defaults to ./.asp."""
    return Path(os.environ.get("ASP_HOME", ".asp")).expanduser().resolve()


def inbox_dir() -> Path:
    """The inbox the ingest reads and the SDK writes: $ASP_INBOX, else $ASP_HOME/inbox."""
    configured = os.environ.get("ASP_INBOX")
    return Path(configured).expanduser().resolve() if configured else asp_home() / "inbox"
