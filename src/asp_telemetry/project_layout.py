"""What makes up an asp-telemetry project: the files the wheel carries as package data
(setup.py reads this module) and `asp-telemetry init` copies. No imports: setup.py runs it
before the package is installed."""

PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "prefect.yaml", ".sqlfluff")
PROJECT_DIRS = ("models", "macros", "seeds", "migrations", "tests/dbt", "flows")
IGNORED_NAMES = ("__pycache__", "*.pyc", "target", "logs", ".user.yml")
