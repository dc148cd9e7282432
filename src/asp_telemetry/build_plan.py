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

Built incrementally, the rows a build does not recompute keep what the seeds gave them when
they were built (int_task_week_effort keeps a role's old phase_class). So each planned build
notes the digest of every seed file (migration 0013), and when a seed changed since the last
one the build runs dbt twice: everything else as usual, then the models downstream of the
seed that are incremental or read one, with `--full-refresh`. Under a retention policy that
full refresh loses the history of the raw weeks dropped: the plan says so.
"""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from asp_telemetry import build, connection, paths, retention
from asp_telemetry.build import BuildResult, ProgressCallback
from asp_telemetry.connection import ConnectionInfo
from asp_telemetry.errors import InvalidInput

SOURCE = "asp"
BUILD_TIME_MODELS = "tag:build_time+"
PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "seeds")
WITHOUT_UNIT_TESTS = ("--exclude-resource-type", "unit_test")
# A scheduled build writes no manifest.json or run_results.json: nothing reads them (the
# results come back in process), and writing the manifest was the larger part of dbt's start-up
# after partial parsing (docs/benchmarks.md). target/partial_parse.msgpack is still kept.
WITHOUT_ARTIFACTS = ("--no-write-json",)
# What a changed seed's full refresh selects: what is downstream of the seed and is, or reads,
# an incremental model. Its incremental models are the ones that keep values of the old seed;
# the tables and views after them follow. Not the seed itself: a seed's full refresh drops its
# table, and with it every view on it.
SEED_REFRESH = "{seed}+,config.materialized:incremental+"
NOTE_WIDTH = 80


def seed_refresh_selector(seed: str) -> str:
    return build.check_selector(SEED_REFRESH.format(seed=seed))


class BuildPlan(BaseModel):
    """What a planned build will select, and the change rows it will have seen."""

    project_digest: str
    build_all: bool
    reason: str
    changed_tables: list[str] = []
    change_ids: list[int] = []
    new_day: bool = False
    seed_digests: dict[str, str] = {}
    changed_seeds: list[str] = []
    retention_policy: str | None = None
    retained_since: datetime | None = None
    refreshed_models: list[str] | None = None  # after a seed's refresh: the incremental models it rebuilt

    @property
    def skip(self) -> bool:
        return not self.build_all and not self.changed_tables and not self.new_day

    def selectors(self) -> list[str]:
        return [*(f"source:{SOURCE}.{table}+" for table in self.changed_tables), BUILD_TIME_MODELS]

    def refresh_selectors(self) -> list[str]:
        return [seed_refresh_selector(seed) for seed in self.changed_seeds]

    def dbt_args(self) -> list[str]:
        """The build's selection (when seeds changed: all but what their refresh selects)."""
        if not self.build_all:
            selection = ["--select", *self.selectors()]
        elif self.changed_seeds:
            selection = ["--exclude", *self.refresh_selectors()]
        else:
            selection = []
        return [*selection, *WITHOUT_UNIT_TESTS]

    def refresh_args(self) -> list[str]:
        """The second build when seeds changed: what they feed, refreshed in full."""
        return ["--select", *self.refresh_selectors(), "--full-refresh", *WITHOUT_UNIT_TESTS]

    def notes(self) -> list[str]:
        """After a seed's refresh: what it refreshed and, under a retention policy, what that cost."""
        if self.refreshed_models is None:
            return []
        notes = [f"fully refreshed: {', '.join(self.refreshed_models) or 'no incremental model'}"]
        if self.refreshed_models and self.retention_policy:
            since = f" before {self.retained_since:%Y-%m-%d}" if self.retained_since else ""
            notes.append(f"{retention.POLICY_VARIABLE}={self.retention_policy}: their history{since} was rebuilt"
                         " from the raw rows retention kept: the weeks it dropped are lost there")
        return notes

    def note_lines(self) -> list[str]:
        """The notes indented, in lines of at most 80 columns."""
        return [line for note in self.notes()
                for line in textwrap.wrap(note, NOTE_WIDTH, initial_indent="  ", subsequent_indent="  ",
                                          break_on_hyphens=False)]


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


def seed_digests(project: Path | None = None) -> dict[str, str]:
    """sha256 of each seed file, by seed name (dbt's: the file's name without .csv)."""
    root = (project or paths.project_dir()) / "seeds"
    return {path.stem: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(root.rglob("*.csv"))}


def changed_seeds(built: dict[str, str] | None, now: dict[str, str]) -> list[str]:
    """The seeds whose bytes differ from (or were not among) those last built; none when the
    last build noted no digests (before migration 0013: unknown, so nothing is refreshed)."""
    if built is None:
        return []
    return sorted(name for name, digest in now.items() if built.get(name) != digest)


def _retention() -> tuple[str | None, datetime | None]:
    """The configured retention policy and the oldest instant it keeps raw rows of now."""
    policy = retention.configured_policy()
    if policy is None:
        return None, None
    try:
        return policy, datetime.now(UTC) - retention.parse_duration(policy)
    except InvalidInput:
        return policy, None


def plan(info: ConnectionInfo, full_refresh: bool = False) -> BuildPlan:
    """The build that brings the marts up to date with the raw tables now."""
    digest, seeds = project_digest(), seed_digests()
    with connection.connect(info) as conn:
        last = conn.execute(
            "select project_digest, (started_at at time zone 'UTC')::date < (now() at time zone 'UTC')::date,"
            " seed_digests from raw.builds order by build_id desc limit 1"
        ).fetchone()
        changes = conn.execute(
            "select table_name, array_agg(change_id order by change_id)"
            " from raw.table_changes group by table_name order by table_name"
        ).fetchall()
    change_ids = sorted(change_id for _, ids in changes for change_id in ids)
    changed_tables = [table for table, _ in changes]
    built = {"project_digest": digest, "seed_digests": seeds}
    seeds_changed: list[str] = []
    if full_refresh:
        reason = "a full refresh: everything"
    elif last is None:
        reason = "no planned build yet: everything"
    elif last[0] != digest:
        seeds_changed = changed_seeds(last[2], seeds)
        reason = "the project changed since the last build: everything"
        if seeds_changed:
            feeds = "they feed" if len(seeds_changed) > 1 else "it feeds"
            reason = f"seed {', '.join(seeds_changed)} changed: everything, what {feeds} in full"
    elif changed_tables:
        reason = f"changed since the last build: {', '.join(changed_tables)}"
        return BuildPlan(**built, build_all=False, reason=reason,
                         changed_tables=changed_tables, change_ids=change_ids)
    elif last[1]:
        return BuildPlan(**built, build_all=False, new_day=True,
                         reason="nothing changed, but a new day: the windows that end at the build")
    else:
        return BuildPlan(**built, build_all=False, reason="nothing changed since the last build")
    policy, retained_since = _retention() if seeds_changed else (None, None)
    return BuildPlan(**built, build_all=True, reason=reason, changed_tables=changed_tables,
                     change_ids=change_ids, changed_seeds=seeds_changed, retention_policy=policy,
                     retained_since=retained_since)


def record(info: ConnectionInfo, built: BuildPlan, started_at: datetime) -> None:
    """After a successful build: the changes it saw are done, and the project it built noted."""
    selection = "all" if built.build_all else " ".join(built.selectors())
    if built.changed_seeds:
        selection += f"; in full: {' '.join(built.refresh_selectors())}"
    with connection.connect(info) as conn, conn.transaction():
        conn.execute("delete from raw.table_changes where change_id = any(%s)", [built.change_ids])
        conn.execute(
            "insert into raw.builds (project_digest, started_at, selection, seed_digests) values (%s, %s, %s, %s)",
            [built.project_digest, started_at, selection, Jsonb(built.seed_digests)],
        )


def run_planned_build(
    info: ConnectionInfo,
    full_refresh: bool = False,
    *,
    on_progress: ProgressCallback | None = None,
    dbt_args: Sequence[str] = (),
) -> tuple[BuildPlan, BuildResult]:
    """Plan, build what the plan selects (nothing when nothing changed), record it.
    dbt_args are added to the build's own (--target-path, --vars; not a selection). The plan
    returned is the one carried out: refreshed_models names what a seed's refresh rebuilt."""
    started_at = datetime.now(UTC)
    planned = plan(info, full_refresh)
    if planned.skip:
        return planned, BuildResult(success=True, elapsed_seconds=0.0, skipped=planned.reason)
    extra = [*WITHOUT_ARTIFACTS, *dbt_args]
    args = [*planned.dbt_args(), *(["--full-refresh"] if full_refresh else []), *extra]
    result = build.run_build(info, args, on_progress=on_progress)
    if result.success and planned.changed_seeds:
        planned, result = _refresh_seed_models(info, planned, result, extra, on_progress)
    if result.success:
        record(info, planned, started_at)
    return planned, result


def _refresh_seed_models(
    info: ConnectionInfo, planned: BuildPlan, first: BuildResult, extra: list[str],
    on_progress: ProgressCallback | None,
) -> tuple[BuildPlan, BuildResult]:
    """The second build of a plan whose seeds changed: what they feed, with --full-refresh,
    after the first built everything else (the seeds and every other parent among it)."""
    from asp_telemetry import pricing

    second = build.run_build(info, [*planned.refresh_args(), *extra], on_progress=on_progress)
    if second.success and first.prices is not None and first.prices.changed:
        # Each build selected only part of the project, so neither noted the new prices as
        # built; together they re-priced every model.
        pricing.mark_built(info)
    refreshed = sorted(node.name for node in second.nodes
                       if node.resource_type == "model" and node.materialized == "incremental" and not node.failed)
    return planned.model_copy(update={"refreshed_models": refreshed}), first.followed_by(second)
