"""`asp-telemetry init DIR`: a copy of the project (dbt project, seeds, migrations, flow
entrypoints, prefect.yaml) for a team to change, as `dbt init` makes one."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import BaseModel

from asp_telemetry import paths
from asp_telemetry.errors import InvalidInput
from asp_telemetry.project_layout import IGNORED_NAMES, PROJECT_DIRS, PROJECT_FILES

GITIGNORE = "target/\nlogs/\n.asp/\n.user.yml\n"


class InitResult(BaseModel):
    directory: Path
    source: Path
    copied: list[str]


def init_project(directory: Path) -> InitResult:
    """Copy the project in use into `directory`, which must be new or empty."""
    destination = directory.expanduser().resolve()
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise InvalidInput(f"{destination} already exists and is not an empty directory: name a new one")
    source = paths.project_dir()
    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in PROJECT_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, destination / name)
            copied.append(name)
    for name in PROJECT_DIRS:
        if (source / name).is_dir():
            shutil.copytree(source / name, destination / name, ignore=shutil.ignore_patterns(*IGNORED_NAMES),
                            copy_function=shutil.copyfile)
            copied.append(name + "/")
    (destination / ".gitignore").write_text(GITIGNORE)
    return InitResult(directory=destination, source=source, copied=copied)
