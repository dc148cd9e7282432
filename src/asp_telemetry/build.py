"""Build the dbt project (`dbt build`) in this process, against one database.

`run_build` runs dbt through its programmatic entry point (`dbtRunner`) with the project and
profiles in the repository checkout, and the database given by a `ConnectionInfo` (its PG*
variables are set for the duration of the call only). It returns a `BuildResult`: one
`NodeResult` per seed, model, data test and unit test, with a few of the failing rows of
every failed or warned data test, so that a failure names the bad value ("unknown
agent_role 'Coder' (3 rows)") instead of dbt's bare count. The CLI prints it; the Prefect
flow publishes it as a table artifact.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import psycopg
from pydantic import AfterValidator, BaseModel, Field

from asp_telemetry import paths
from asp_telemetry.connection import LIBPQ_VARIABLES, ConnectionInfo, connect, scrub
from asp_telemetry.errors import BuildFailed, InvalidInput
from asp_telemetry.pricing import Refreshed

FAILING_ROW_SAMPLE = 5
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
WARNED_STATUSES = frozenset({"warn"})
_PG_ENVIRONMENT = (*LIBPQ_VARIABLES, "PGSSLMODE", "PGOPTIONS")
PROJECT_NAME = "asp_telemetry"  # dbt_project.yml `name`: the package of the project's own nodes
TRANSFORMER_ROLE = "asp_transformer"
# dbt's sessions sort and hash millions of cost rows: PostgreSQL's default work_mem (4 MB)
# would send them to disk. And they work as asp_transformer from their first statement: a
# role set at connection start is the session's default, which no rollback undoes (the `set
# role` of profiles.yml alone is undone when psycopg2 rolls back the transaction it opened).
# Applies to the build's own sessions only.
BUILD_SESSION_OPTIONS = f"-c work_mem=64MB -c role={TRANSFORMER_ROLE}"

# dbt's node selection syntax, one selector per item: methods (tag:, path:, config.x:),
# graph operators (+, n+, @), unions by comma; never an option (nothing starts with '-').
_SELECTOR_TERM = r"(?:@|[0-9]*\+)?(?:[a-z_]+(?:\.[a-z_]+)*:)?[A-Za-z0-9_*][A-Za-z0-9_./*-]*(?:\+[0-9]*)?"
_SELECTOR = re.compile(rf"{_SELECTOR_TERM}(?:,{_SELECTOR_TERM})*")


def check_selector(value: str) -> str:
    """A dbt node selector ('marts', 'tag:nightly', '+fct_task_costs', 'path:models/marts'),
    or InvalidInput (a ValueError): a selector can never become another dbt argument."""
    if not isinstance(value, str) or not _SELECTOR.fullmatch(value):
        raise InvalidInput(
            f"not a dbt node selector: {value!r} (model, tag:x, path:dir, +model+, @model; no options)"
        )
    return value


NodeSelector = Annotated[str, AfterValidator(check_selector)]


class NodeResult(BaseModel):
    """What dbt did with one node (seed, model, data test, unit test) of the build."""

    unique_id: str
    name: str
    label: str = Field(description="Short readable name: 'known_values(agent_role) on asp.agent_cost_vector'.")
    resource_type: str
    materialized: str | None = Field(default=None, description="How dbt built it: table, view, incremental, seed...")
    status: str
    execution_time: float
    failures: int | None = None
    message: str | None = None
    relation: str | None = None
    failing_rows: list[dict[str, Any]] = []

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES

    @property
    def warned(self) -> bool:
        return self.status in WARNED_STATUSES

    def failing_row_messages(self) -> list[str]:
        """One line per sampled failing row: its `message` column, else its columns."""
        lines = []
        for row in self.failing_rows:
            if row.get("message"):
                lines.append(str(row["message"]))
            else:
                lines.append(", ".join(f"{key}={value!r}" for key, value in row.items()))
        return lines


class BuildResult(BaseModel):
    """The outcome of one `dbt build`."""

    success: bool
    elapsed_seconds: float
    nodes: list[NodeResult] = []
    prices: Refreshed | None = Field(default=None, description="What the price step resolved before dbt ran.")
    error: str | None = Field(default=None, description="Why dbt could not build at all (no node ran).")
    skipped: str | None = Field(default=None, description="Why a planned build ran nothing (build_plan.py).")

    def followed_by(self, later: BuildResult) -> BuildResult:
        """This build and a later one (run after this one passed) as one outcome: a node both
        ran keeps the later result; success and error are the later build's."""
        nodes = {node.unique_id: node for node in [*self.nodes, *later.nodes]}
        return BuildResult(success=later.success, elapsed_seconds=self.elapsed_seconds + later.elapsed_seconds,
                           nodes=list(nodes.values()), prices=self.prices, error=later.error)

    @property
    def failed_nodes(self) -> list[NodeResult]:
        return [node for node in self.nodes if node.failed]

    @property
    def warned_nodes(self) -> list[NodeResult]:
        return [node for node in self.nodes if node.warned]

    def totals(self) -> dict[str, dict[str, int]]:
        """{resource_type: {status: count}}, e.g. {'test': {'pass': 80, 'warn': 1}}."""
        counts: dict[str, Counter[str]] = {}
        for node in self.nodes:
            counts.setdefault(node.resource_type, Counter())[node.status] += 1
        return {resource_type: dict(counter) for resource_type, counter in sorted(counts.items())}

    def summary_line(self) -> str:
        """'passed in 41.2 s; seeds: 5 ok; models: 20 ok; data tests: 96 ok, 1 warn; unit tests: 17 ok'."""
        if self.error:
            return f"FAILED: dbt could not build: {self.error}"
        if self.skipped:
            return f"skipped: {self.skipped}"
        parts = []
        for resource_type, label in (("seed", "seeds"), ("model", "models"), ("test", "data tests"),
                                     ("unit_test", "unit tests")):
            counts = self.totals().get(resource_type)
            if not counts:
                continue
            ok = sum(n for status, n in counts.items() if status in {"success", "pass"})
            detail = [f"{ok} ok"] + [f"{n} {status}" for status, n in sorted(counts.items())
                                     if status not in {"success", "pass"}]
            parts.append(f"{label}: {', '.join(detail)}")
        verdict = "passed" if self.success else "FAILED"
        return f"{verdict} in {self.elapsed_seconds:.1f} s; " + "; ".join(parts)


ProgressCallback = Callable[[int, int | None, str], None]

# The engines a build runs on: profiles.yml's targets. `default` is PostgreSQL (the database
# `info` names); `spark` is the in-process Spark of docs/spark.md, over the lake.
TARGETS = ("default", "spark")
TARGET_VARIABLE = "ASP_TARGET"


def check_target(value: str | None) -> str:
    """A build target ('default' or 'spark'; 'postgres' and None mean 'default'), or InvalidInput."""
    value = (value or "default").strip().lower()
    if value in {"postgres", "postgresql"}:
        value = "default"
    if value not in TARGETS:
        raise InvalidInput(
            f"unknown build target {value!r}: use one of {', '.join(TARGETS)} (--target or {TARGET_VARIABLE})"
        )
    return value


def run_build(
    info: ConnectionInfo | None,
    dbt_args: Sequence[str] = (),
    *,
    show_dbt_log: bool = False,
    on_progress: ProgressCallback | None = None,
    custom_prices: Path | None = None,
    target: str = "default",
) -> BuildResult:
    """Run `dbt build [dbt_args]` on the database `info` and collect every node's result.

    dbt_args pass through unchanged (--select, --full-refresh, --vars, --target-path, ...).
    dbt's own log goes to logs/dbt.log (the project's; $ASP_HOME/dbt/logs for the installed
    project), on stdout only when show_dbt_log. on_progress(done, total, node name) is called
    as nodes finish. custom_prices replaces seeds/model_prices_custom.csv (a team's own
    prices; asp_telemetry.pricing). target: 'default' (PostgreSQL, the database `info`) or
    'spark' (the lake and the Spark warehouse of docs/spark.md; `info` is not used; the
    command line takes it from --target or $ASP_TARGET).
    """
    target = check_target(target)
    if any(arg.split("=", 1)[0] in {"--target", "-t"} for arg in dbt_args):
        raise InvalidInput("give the target as asp-telemetry's --target (or ASP_TARGET), not as a dbt argument")
    if target == "spark":
        return _run_spark_build(list(dbt_args), show_dbt_log=show_dbt_log, on_progress=on_progress,
                                custom_prices=custom_prices)
    if info is None:
        raise InvalidInput("a PostgreSQL build needs a database: asp-telemetry db start, or PG* / --database")
    from asp_telemetry import pricing

    return _build(
        _BuildTarget(
            # The price step (asp_telemetry.pricing) before dbt: the prices of the models seen.
            refresh_prices=lambda: pricing.refresh(info, custom_prices),
            price_errors=(BuildFailed,),
            mark_built=lambda: pricing.mark_built(info),
            attach_failing_rows=lambda nodes, manifest: _attach_failing_rows(info, nodes, manifest),
            info=info,
            password=info.password.get_secret_value() if info.password else None,
        ),
        list(dbt_args), show_dbt_log=show_dbt_log, on_progress=on_progress,
    )


@dataclass(frozen=True)
class _BuildTarget:
    """What differs between the targets' builds: the price step, dbt's connection (`info`,
    None on Spark, whose target is then named to dbt) and how failing rows are read."""

    refresh_prices: Callable[[], Refreshed]
    price_errors: tuple[type[Exception], ...]
    mark_built: Callable[[], None]
    attach_failing_rows: Callable[[list[NodeResult], dict[str, Any]], None]
    info: ConnectionInfo | None = None
    target_args: tuple[str, ...] = ()
    password: str | None = None


def _build(target: _BuildTarget, args: list[str], *, show_dbt_log: bool,
           on_progress: ProgressCallback | None) -> BuildResult:
    """The price step, then `dbt build`: a schedule the marts were not built with in full
    re-prices every execution (--full-refresh)."""
    try:
        prices = target.refresh_prices()
    except target.price_errors as exc:
        return BuildResult(success=False, elapsed_seconds=0.0, error=str(exc))
    selected = _selects_nodes(args)
    if prices.changed and "--full-refresh" not in args:
        args.append("--full-refresh")
    if not show_dbt_log and not _mentions_log_level(args):
        # quiet on stdout; the file log keeps dbt's default (--log-level would silence it too)
        args = ["--log-level", "none", "--log-level-file", "debug", *args]
    progress = _ProgressTracker(on_progress)
    started = time.monotonic()
    outcome = run_dbt(target.info, ["build", *target.target_args, *args], callbacks=[progress.handle])
    elapsed = time.monotonic() - started

    run_results = getattr(outcome.result, "results", None)
    if run_results is None:
        reason = outcome.exception or outcome.result or "dbt did not run"
        return BuildResult(success=False, elapsed_seconds=elapsed, error=scrub(str(reason), target.password),
                           prices=prices)

    nodes = [_node_result(result, target.password) for result in run_results]
    target.attach_failing_rows(nodes, {result.node.unique_id: result.node for result in run_results})
    success = bool(outcome.success) and not any(node.failed for node in nodes)
    if success and not (prices.changed and selected):
        target.mark_built()
    return BuildResult(success=success, elapsed_seconds=elapsed, nodes=nodes, prices=prices)


def _run_spark_build(
    args: list[str], *, show_dbt_log: bool, on_progress: ProgressCallback | None, custom_prices: Path | None
) -> BuildResult:
    """`dbt build --target spark`: the price step writes the lake's price datasets (what
    pricing.refresh writes into schema pricing on PostgreSQL), then dbt builds in this
    process's SparkSession. No roles, no grants, no write-back: the warehouse's own."""
    from asp_telemetry.lake import session as lake_session
    from asp_telemetry.lake import session_prices as lake_prices

    try:
        spark = lake_session.get_session()
    except Exception as exc:  # noqa: BLE001 - no Java, no pyspark: said, not a traceback
        first = (str(exc).strip().splitlines() or [""])[0]
        return BuildResult(success=False, elapsed_seconds=0.0, error=(
            f"could not start Spark ({type(exc).__name__}: {first}): the spark target needs"
            " pip install 'asp-telemetry[spark]' and Java 17"))
    return _build(
        _BuildTarget(
            refresh_prices=lambda: lake_prices.refresh(spark=spark, custom_path=custom_prices),
            price_errors=(BuildFailed, InvalidInput),
            mark_built=lake_prices.mark_built,
            attach_failing_rows=lambda nodes, manifest: _attach_spark_failing_rows(spark, nodes, manifest),
            target_args=("--target", "spark"),
        ),
        args, show_dbt_log=show_dbt_log, on_progress=on_progress,
    )


def _attach_spark_failing_rows(spark: Any, nodes: list[NodeResult], manifest_nodes: dict[str, Any]) -> None:
    """_attach_failing_rows on Spark: a few rows of each failed or warned own data test."""
    for node in nodes:
        if not (node.resource_type == "test" and (node.failed or node.warned) and node.failures
                and _is_own_test(manifest_nodes[node.unique_id])):
            continue
        compiled = getattr(manifest_nodes[node.unique_id], "compiled_code", None)
        if not compiled:
            continue
        try:
            rows = spark.sql(f"select * from (\n{compiled}\n) as failing_rows limit {FAILING_ROW_SAMPLE}").collect()
        except Exception as exc:  # noqa: BLE001 - the build's result stands without its sample
            node.failing_rows = [{"message": f"(could not read the failing rows: {str(exc).strip()[:200]})"}]
            continue
        node.failing_rows = [{key: _plain(value) for key, value in row.asDict().items()} for row in rows]


_SELECTION_OPTIONS = frozenset({"--select", "-s", "--models", "-m", "--exclude", "--selector"})


def _selects_nodes(dbt_args: Sequence[str]) -> bool:
    """Whether the build covers only some nodes (then it cannot settle a re-pricing)."""
    return any(arg.split("=", 1)[0] in _SELECTION_OPTIONS for arg in dbt_args)


def run_dbt(info: ConnectionInfo | None, command: Sequence[str], callbacks: Sequence[Callable] = ()) -> Any:
    """Invoke any dbt command (["build", ...], ["docs", "generate"], ...) on the database
    `info` (None: a target that is not PostgreSQL, named in `command`), with the
    repository's project and profiles; returns dbt's dbtRunnerResult."""
    from dbt.cli.main import dbtRunner  # heavy: imported only when dbt runs

    project_dir = str(paths.project_dir())
    args = [*command, "--project-dir", project_dir, "--profiles-dir", project_dir]
    state = paths.dbt_state_dirs()
    if state is not None:  # the installed project is read-only: dbt writes under ASP_HOME
        for option, variable, directory in zip(("--target-path", "--log-path"), ("DBT_TARGET_PATH", "DBT_LOG_PATH"),
                                               state):
            if variable not in os.environ and not any(arg.split("=")[0] == option for arg in command):
                args += [option, str(directory)]
    if info is None:
        with _spark_environment():
            return dbtRunner(callbacks=list(callbacks)).invoke(args)
    with _database_environment(info):
        return dbtRunner(callbacks=list(callbacks)).invoke(args)


@contextlib.contextmanager
def _spark_environment() -> Iterator[None]:
    """ASP_SPARK_DIR and ASP_LAKE resolved (profiles.yml and the lake sources read them),
    for the duration of the build."""
    from asp_telemetry.lake import session as lake_session

    values = {"ASP_SPARK_DIR": str(lake_session.spark_dir()), "ASP_LAKE": lake_session.lake_url()}
    with _environment_restored(values):
        os.environ.update(values)
        yield


def _mentions_log_level(dbt_args: Sequence[str]) -> bool:
    return any(arg in {"--log-level", "--quiet", "-q"} or arg.startswith("--log-level=") for arg in dbt_args)


@contextlib.contextmanager
def _database_environment(info: ConnectionInfo) -> Iterator[None]:
    """The PG* variables profiles.yml reads, set to `info` for the duration of the build
    (PGOPTIONS too, which libpq passes to every session dbt opens)."""
    with _environment_restored(_PG_ENVIRONMENT) as saved:
        for name in _PG_ENVIRONMENT:
            os.environ.pop(name, None)
        os.environ.update(info.libpq_environment())
        os.environ["PGOPTIONS"] = " ".join(filter(None, [saved.get("PGOPTIONS"), BUILD_SESSION_OPTIONS]))
        yield


@contextlib.contextmanager
def _environment_restored(names: Iterable[str]) -> Iterator[dict[str, str | None]]:
    """The environment variables `names` as they were before, when the block ends; yields
    their values then."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield saved
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _ProgressTracker:
    def __init__(self, callback: ProgressCallback | None):
        self.callback = callback
        self.done = 0
        self.total: int | None = None

    def handle(self, event: Any) -> None:
        if self.callback is None:
            return
        name = event.info.name
        if name == "LogStartLine":
            self.total = event.data.total or self.total
        elif name == "NodeFinished":
            self.done += 1
            self.callback(self.done, self.total, event.data.node_info.node_name)


def _node_result(result: Any, password: str | None = None) -> NodeResult:
    node = result.node
    status = getattr(result.status, "value", result.status)
    return NodeResult(
        unique_id=node.unique_id,
        name=node.name,
        label=_label(node),
        resource_type=str(getattr(node.resource_type, "value", node.resource_type)),
        materialized=getattr(getattr(node, "config", None), "materialized", None),
        status=str(status),
        execution_time=round(float(result.execution_time or 0.0), 3),
        failures=result.failures,
        message=scrub(result.message, password) if result.message else result.message,
        relation=getattr(node, "relation_name", None),
    )


def _label(node: Any) -> str:
    """'known_values(agent_role) on asp.agent_cost_vector' for a generic test, else the name."""
    test_metadata = getattr(node, "test_metadata", None)
    if test_metadata is None:
        return node.name
    if getattr(node, "sources", None):
        target = ".".join(node.sources[0])
    else:
        attached = getattr(node, "attached_node", None) or ""
        target = attached.rsplit(".", 1)[-1] or node.name
    column = getattr(node, "column_name", None)
    test = f"{test_metadata.name}({column})" if column else test_metadata.name
    return f"{test} on {target}"


def _attach_failing_rows(info: ConnectionInfo, nodes: list[NodeResult], manifest_nodes: dict[str, Any]) -> None:
    """Run each failed or warned data test's query again for a few of its rows: only the
    project's own tests, read-only, as asp_transformer (what the build itself ran as)."""
    wanted = [
        node
        for node in nodes
        if node.resource_type == "test" and (node.failed or node.warned) and node.failures
        and _is_own_test(manifest_nodes[node.unique_id])
    ]
    if not wanted:
        return
    with connect(info, autocommit=True) as conn:
        for node in wanted:
            compiled = getattr(manifest_nodes[node.unique_id], "compiled_code", None)
            if not compiled:
                continue
            query = f"select * from (\n{compiled}\n) as failing_rows limit {FAILING_ROW_SAMPLE}"
            try:
                with conn.transaction():
                    conn.execute("set transaction read only")
                    conn.execute(f"set local role {TRANSFORMER_ROLE}")
                    conn.execute("set local statement_timeout = '60s'")
                    cursor = conn.execute(query)  # no parameters: % in the SQL stays as it is
                    columns = [column.name for column in cursor.description or []]
                    rows = cursor.fetchall()
            except psycopg.Error as exc:
                node.failing_rows = [{"message": f"(could not read the failing rows: {str(exc).strip()})"}]
                continue
            node.failing_rows = [
                {column: _plain(value) for column, value in zip(columns, row)} for row in rows
            ]


def _is_own_test(node: Any) -> bool:
    """A data test of this project (not of an installed package), from a file inside it."""
    path = PurePosixPath(str(getattr(node, "original_file_path", "") or ""))
    return (
        getattr(node, "package_name", None) == PROJECT_NAME
        and str(getattr(node, "resource_type", "")).endswith("test")
        and bool(path.parts)
        and not path.is_absolute()
        and ".." not in path.parts
        and path.parts[0] in {"models", "seeds", "tests", "macros", "snapshots"}
    )


def _plain(value: Any) -> Any:
    """JSON-friendly cell values, for artifacts."""
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value
