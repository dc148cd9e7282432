"""Builds that cost what changed: what a scheduled build selects.

Every statement that changes a raw table leaves a row in `raw.table_changes` (migration 0010's
triggers, whoever writes). A planned build selects what is downstream of the tables named
there (`source:asp.<table>+`), builds nothing at all when no table changed, and builds
everything when the project (models, macros, seeds, dbt_project.yml) differs from the one the
last planned build built. After it succeeds it removes exactly the change rows it saw, so a
change committed while it ran is still there for the next build. Models that read the build
time (tag `build_time`: a window ending now) are rebuilt by every planned build that runs,
and once a UTC day when nothing changed, so their windows move on. Unit tests check the
project's code, not the data: they belong to `make test` and `asp-telemetry build`, and a
planned build leaves them out (dbt's own advice for scheduled runs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel

from asp_telemetry import build, connection, paths
from asp_telemetry.build import BuildResult, ProgressCallback
from asp_telemetry.connection import ConnectionInfo

SOURCE = "asp"
BUILD_TIME_MODELS = "tag:build_time+"
PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "seeds")
WITHOUT_UNIT_TESTS = ("--exclude-resource-type", "unit_test")
# A scheduled build writes no manifest.json or run_results.json: nothing reads them (the
# results come back in process), and writing the manifest was the larger part of dbt's start-up
# after partial parsing (docs/benchmarks.md). target/partial_parse.msgpack is still kept.
WITHOUT_ARTIFACTS = ("--no-write-json",)


class BuildPlan(BaseModel):
    """What a planned build will select, and the change rows it will have seen."""

    project_digest: str
    build_all: bool
    reason: str
    changed_tables: list[str] = []
    change_ids: list[int] = []
    new_day: bool = False

    @property
    def skip(self) -> bool:
        return not self.build_all and not self.changed_tables and not self.new_day

    def selectors(self) -> list[str]:
        return [*(f"source:{SOURCE}.{table}+" for table in self.changed_tables), BUILD_TIME_MODELS]

    def dbt_args(self) -> list[str]:
        selection = [] if self.build_all else ["--select", *self.selectors()]
        return [*selection, *WITHOUT_UNIT_TESTS]


def project_digest(project: Path | None = None) -> str:
    """SHA-256 over the paths and bytes of the project's models, macros, seeds (the custom
    prices among them) and dbt_project.yml, dbt's version and the price package's: a planned
    build after any change to them builds all."""
    from asp_telemetry import pricing

    # dbt-core's installed version from its package metadata: importing dbt.version would
    # import much of dbt, the larger part of a planned build that has nothing to do.
    dbt_version = metadata.version("dbt-core")

    project = project or paths.project_dir()
    digest = hashlib.sha256(f"dbt {dbt_version}\n{pricing.package_source()}\n".encode())
    for part in PROJECT_PARTS:
        root = project / part
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            digest.update(path.relative_to(project).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def plan(info: ConnectionInfo, full_refresh: bool = False) -> BuildPlan:
    """The build that brings the marts up to date with the raw tables now."""
    digest = project_digest()
    with connection.connect(info) as conn:
        last = conn.execute(
            "select project_digest, (started_at at time zone 'UTC')::date < (now() at time zone 'UTC')::date"
            " from raw.builds order by build_id desc limit 1"
        ).fetchone()
        changes = conn.execute(
            "select table_name, array_agg(change_id order by change_id)"
            " from raw.table_changes group by table_name order by table_name"
        ).fetchall()
    change_ids = sorted(change_id for _, ids in changes for change_id in ids)
    changed_tables = [table for table, _ in changes]
    if full_refresh:
        reason = "a full refresh: everything"
    elif last is None:
        reason = "no planned build yet: everything"
    elif last[0] != digest:
        reason = "the project changed since the last build: everything"
    elif changed_tables:
        reason = f"changed since the last build: {', '.join(changed_tables)}"
        return BuildPlan(project_digest=digest, build_all=False, reason=reason,
                         changed_tables=changed_tables, change_ids=change_ids)
    elif last[1]:
        return BuildPlan(project_digest=digest, build_all=False, new_day=True,
                         reason="nothing changed, but a new day: the windows that end at the build")
    else:
        return BuildPlan(project_digest=digest, build_all=False, reason="nothing changed since the last build")
    return BuildPlan(project_digest=digest, build_all=True, reason=reason,
                     changed_tables=changed_tables, change_ids=change_ids)


def record(info: ConnectionInfo, built: BuildPlan, started_at: datetime) -> None:
    """After a successful build: the changes it saw are done, and the project it built noted."""
    selection = "all" if built.build_all else " ".join(built.selectors())
    with connection.connect(info) as conn, conn.transaction():
        conn.execute("delete from raw.table_changes where change_id = any(%s)", [built.change_ids])
        conn.execute(
            "insert into raw.builds (project_digest, started_at, selection) values (%s, %s, %s)",
            [built.project_digest, started_at, selection],
        )


def run_planned_build(
    info: ConnectionInfo,
    full_refresh: bool = False,
    *,
    on_progress: ProgressCallback | None = None,
    dbt_args: Sequence[str] = (),
) -> tuple[BuildPlan, BuildResult]:
    """Plan, build what the plan selects (nothing when nothing changed), record it.
    dbt_args are added to the build's own (--target-path, --vars; not a selection)."""
    started_at = datetime.now(UTC)
    planned = plan(info, full_refresh)
    if planned.skip:
        return planned, BuildResult(success=True, elapsed_seconds=0.0, skipped=planned.reason)
    args = [*planned.dbt_args(), *WITHOUT_ARTIFACTS, *(["--full-refresh"] if full_refresh else []), *dbt_args]
    result = build.run_build(info, args, on_progress=on_progress)
    if result.success:
        record(info, planned, started_at)
    return planned, result
