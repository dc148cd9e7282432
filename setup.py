"""The wheel carries the project (dbt project, migrations, seeds, flow entrypoints) as
package data under asp_telemetry/project, copied from the repository's top level, where it
stays for those who work in the checkout. Everything else is in pyproject.toml."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# What every command needs and `asp-telemetry init` copies (MANIFEST.in lists it for the sdist).
LAYOUT = runpy.run_path(str(ROOT / "src" / "asp_telemetry" / "project_layout.py"))
IGNORED = shutil.ignore_patterns(*LAYOUT["IGNORED_NAMES"])


class BuildWithProject(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself
            return
        destination = Path(self.build_lib) / "asp_telemetry" / "project"
        shutil.rmtree(destination, ignore_errors=True)
        for name in LAYOUT["PROJECT_FILES"]:
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
        for name in LAYOUT["PROJECT_DIRS"]:
            shutil.copytree(ROOT / name, destination / name, ignore=IGNORED)


setup(cmdclass={"build_py": BuildWithProject})
