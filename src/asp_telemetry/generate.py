"""Realistic synthetic telemetry in the native JSON Lines format.

A simulated team runs every task through the seven-phase agent pipeline. Cost grows with
the task's actual complexity (so PROBE regressions on the estimated complexity are
meaningful, with noise); defects are injected in Planning, Design and Code and removed later
according to per-phase yields; review agents flag most of what their phase removes, add some
false positives, and leave some flags waiting for human validation; a found defect sends its
construction agent into a correction iteration. Several models, providers and prices; task
start times spread over a span of weeks.

Deterministic for a seed and an end time; streams task by task, so a million tasks need no
more memory than one.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from asp_telemetry.errors import InvalidInput
from asp_telemetry.execution import Execution

PIPELINE = ("Planning", "Design", "DesignReview", "Code", "CodeReview", "Test", "Postmortem")
PHASE_ORDER = {role: order for order, role in enumerate(PIPELINE, start=1)}

# Share of a task's tokens each phase uses, and its tool calls per complexity unit.
TOKEN_SHARE = {
    "Planning": 0.10, "Design": 0.15, "DesignReview": 0.10, "Code": 0.30,
    "CodeReview": 0.12, "Test": 0.18, "Postmortem": 0.05,
}
TOOL_CALLS_PER_UNIT = {
    "Planning": 0.02, "Design": 0.04, "DesignReview": 0.02, "Code": 0.5,
    "CodeReview": 0.06, "Test": 0.4, "Postmortem": 0.0,
}
TOKENS_PER_COMPLEXITY_UNIT = 4_800
OUTPUT_SHARE = 0.22  # of a phase's tokens that are completion tokens
MS_PER_OUTPUT_TOKEN = 9.0
BASE_LATENCY_MS = 700.0


@dataclass(frozen=True)
class Model:
    name: str
    provider: str
    usd_per_million_in: float
    usd_per_million_out: float


MODELS = {
    "sonnet": Model("claude-sonnet-4", "anthropic", 3.0, 15.0),
    "haiku": Model("claude-3-5-haiku", "anthropic", 0.8, 4.0),
    "gpt": Model("gpt-4.1", "openai", 2.0, 8.0),
    "gpt-mini": Model("gpt-4.1-mini", "openai", 0.4, 1.6),
    "gemini": Model("gemini-2.5-pro", "google", 1.25, 10.0),
}

# Each project staffs its pipeline differently: which model runs which role.
PROJECTS = {
    "ASP-Platform": {"default": "sonnet", "Code": "sonnet", "CodeReview": "gpt", "Postmortem": "haiku"},
    "Billing": {"default": "gpt", "Planning": "sonnet", "Test": "gpt-mini", "Postmortem": "gpt-mini"},
    "Search": {"default": "gemini", "Code": "sonnet", "Postmortem": "haiku"},
    "Mobile": {"default": "gpt-mini", "Design": "gpt", "Code": "gpt"},
    "DataPlatform": {"default": "sonnet", "DesignReview": "gemini", "CodeReview": "gemini", "Test": "haiku"},
}
TASK_TYPES = ("authentication", "database", "api", "ui", "infrastructure", "data_pipeline")
AGENT_VERSIONS = {role: f"v1.{PHASE_ORDER[role]}.0" for role in PIPELINE}

# Defects injected per actual complexity unit, by phase, with the types each phase tends to make.
INJECTION_RATE = {"Planning": 0.008, "Design": 0.03, "Code": 0.06}
DEFECT_TYPES = {
    "Planning": [("1_Planning_Failure", 0.8), ("2_Prompt_Misinterpretation", 0.2)],
    "Design": [("2_Prompt_Misinterpretation", 0.35), ("8_Alignment_Deviation", 0.15),
               ("4_Hallucination", 0.2), ("50_Interface", 0.2), ("70_Data", 0.1)],
    "Code": [("6_Conventional_Code_Bug", 0.35), ("4_Hallucination", 0.2), ("3_Tool_Use_Error", 0.12),
             ("5_Security_Vulnerability", 0.08), ("80_Function", 0.15), ("7_Task_Execution_Error", 0.1)],
}
# Probability that a phase removes a defect still present when it runs (its yield).
REMOVAL_YIELD = {"DesignReview": 0.55, "CodeReview": 0.60, "Test": 0.85}
REVIEW_AGENT_FLAGS = 0.85  # of the defects its phase removes, the review agent flagged
HUMAN_VALIDATED = 0.90  # of the flagged real defects, a human has confirmed so far
FALSE_POSITIVES_PER_REVIEW = 0.1
SEVERITIES = [("Critical", 0.05), ("High", 0.2), ("Medium", 0.45), ("Low", 0.3)]
COMPONENTS = [
    "src/auth/login.py", "src/auth/jwt.py", "src/session/redis_store.py", "src/api/routes.py",
    "src/api/serializers.py", "src/db/models.py", "src/db/migrations.py", "src/ui/forms.tsx",
    "src/ui/dashboard.tsx", "src/billing/invoice.py", "src/search/index.py", "src/utils/helpers.py",
]
# Some components attract defects (error-prone), the rest share the remainder evenly.
COMPONENT_WEIGHTS = [3.0, 1.5, 1.0, 2.0, 1.0, 1.5, 0.5, 1.0, 0.7, 1.2, 0.8, 2.5]


class GenerateSummary(BaseModel):
    tasks: int
    files: list[Path]
    records: dict[str, int]
    start: datetime
    end: datetime


def _weighted(rng: random.Random, choices: list[tuple[str, float]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


class _TaskSimulator:
    """Simulates one task through the pipeline and yields its native records."""

    def __init__(self, rng: random.Random, seed: int, number: int, created_at: datetime, now: datetime):
        self.rng = rng
        self.task_id = f"SYN-{seed}-{number:07d}"
        self.created_at = created_at
        self.now = now
        self.project_id = rng.choice(list(PROJECTS))
        self.staffing = PROJECTS[self.project_id]
        self.task_type = rng.choice(TASK_TYPES)
        self.estimated_complexity = max(2, min(80, round(rng.lognormvariate(math.log(16), 0.55))))
        self.actual_complexity = max(1, round(self.estimated_complexity * rng.lognormvariate(0, 0.18)))
        self.execution_number = 0
        self.iterations: dict[str, int] = {}

    def model_for(self, role: str) -> Model:
        return MODELS[self.staffing.get(role, self.staffing["default"])]

    def records(self) -> Iterator[dict]:
        rng = self.rng
        units = self._semantic_units()
        estimate = self._estimate()
        yield {
            "record": "task_metadata",
            "task_id": self.task_id,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.created_at),
            "project_id": self.project_id,
            "task_type": self.task_type,
            "task_description": f"Synthetic {self.task_type} task {self.task_id}",
            "semantic_units_json": {"semantic_units": units},
            "estimated_complexity": self.estimated_complexity,
            "estimated_cost_vector_json": estimate,
            "components_affected": sorted({self._component() for _ in range(rng.randint(1, 3))}),
            "bootstrap_phase": "Learning",
            "status": "in_progress",
        }

        # Recent tasks are still running: they stop after some phase and are never completed.
        age_hours = (self.now - self.created_at).total_seconds() / 3600
        last_phase = len(PIPELINE) if age_hours > 6 or rng.random() < 0.3 else rng.randint(1, len(PIPELINE) - 1)
        failed = rng.random() < 0.01

        clock = self.created_at
        present: list[dict] = []  # defects injected and not yet removed
        for role in PIPELINE[:last_phase]:
            clock, execution_records = self._execute(role, clock, work=1.0)
            yield from execution_records
            if role in INJECTION_RATE:
                count = _poisson(rng, INJECTION_RATE[role] * self.actual_complexity)
                present.extend({"phase_injected": role} for _ in range(count))
            if role in REMOVAL_YIELD:
                clock, found = yield from self._remove_defects(role, clock, present)
                present = [d for d in present if d not in found]
        if last_phase == len(PIPELINE):
            # What escaped every phase surfaces in the postmortem (found by people, late).
            for defect in present:
                yield self._defect(defect["phase_injected"], "Postmortem", clock, flagged=False)
            present = []

        if last_phase == len(PIPELINE) or failed:
            yield {
                "record": "task_metadata",
                "task_id": self.task_id,
                "created_at": _iso(self.created_at),
                "completed_at": _iso(clock),
                "actual_complexity": self.actual_complexity,
                "status": "failed" if failed else "completed",
                "human_reviewed": rng.random() < 0.4,
            }

    def _semantic_units(self) -> list[dict]:
        count = max(1, min(5, self.estimated_complexity // 8))
        shares = [self.rng.random() + 0.5 for _ in range(count)]
        total = sum(shares)
        return [
            {
                "unit_id": f"SU-{i + 1:03d}",
                "description": f"Semantic unit {i + 1} of {self.task_id}",
                "est_complexity": max(1, round(self.estimated_complexity * share / total)),
            }
            for i, share in enumerate(shares)
        ]

    def _estimate(self) -> dict:
        """What a PROBE-style planner would have predicted from the estimated complexity."""
        rng = self.rng
        tokens = TOKENS_PER_COMPLEXITY_UNIT * 1.12 * self.estimated_complexity * rng.lognormvariate(0, 0.15)
        cost = sum(
            TOKEN_SHARE[role] * tokens * self._usd_per_token(role) for role in PIPELINE
        ) * rng.lognormvariate(0, 0.1)
        latency = sum(
            BASE_LATENCY_MS + TOKEN_SHARE[role] * tokens * OUTPUT_SHARE * MS_PER_OUTPUT_TOKEN for role in PIPELINE
        )
        return {"latency_ms": round(latency, 1), "tokens": round(tokens), "api_cost_usd": round(cost, 4)}

    def _usd_per_token(self, role: str) -> float:
        model = self.model_for(role)
        return ((1 - OUTPUT_SHARE) * model.usd_per_million_in + OUTPUT_SHARE * model.usd_per_million_out) / 1e6

    def _component(self) -> str:
        return self.rng.choices(COMPONENTS, weights=COMPONENT_WEIGHTS)[0]

    def _execute(self, role: str, clock: datetime, work: float) -> tuple[datetime, list[dict]]:
        """One agent execution: `work` scales its size (1.0 for a phase, less for a fix)."""
        rng = self.rng
        iteration = self.iterations.get(role, 0) + 1
        self.iterations[role] = iteration
        self.execution_number += 1
        model = self.model_for(role)
        tokens = TOKENS_PER_COMPLEXITY_UNIT * self.actual_complexity * TOKEN_SHARE[role] * work
        tokens *= rng.lognormvariate(0, 0.25)
        tokens_out = max(1, round(tokens * OUTPUT_SHARE * rng.uniform(0.8, 1.2)))
        tokens_in = max(1, round(tokens - tokens_out))
        retries = _poisson(rng, 0.012 * self.actual_complexity * work)
        latency = (BASE_LATENCY_MS + tokens_out * MS_PER_OUTPUT_TOKEN) * (1 + 0.5 * retries)
        latency *= rng.lognormvariate(0, 0.2)
        cost = (tokens_in * model.usd_per_million_in + tokens_out * model.usd_per_million_out) / 1e6
        tool_calls = _poisson(rng, TOOL_CALLS_PER_UNIT[role] * self.actual_complexity * work)

        started = clock + timedelta(seconds=rng.uniform(0.05, 3.0))
        records = Execution(
            task_id=self.task_id,
            agent_role=role,
            execution_id=f"{self.task_id}-E{self.execution_number:02d}",
            timestamp=_iso(started),
            project_id=self.project_id,
            agent_version=AGENT_VERSIONS[role],
            agent_iteration=iteration,
            llm_model=model.name,
            llm_provider=model.provider,
            latency_ms=round(latency, 2),
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=round(cost, 4),
            tool_calls=tool_calls or None,
            retries=retries or None,
            memory_mb=round(rng.uniform(180, 900), 1) if role in ("Code", "Test") and rng.random() < 0.25 else None,
        ).cost_rows()
        return started + timedelta(milliseconds=latency), records

    def _remove_defects(self, phase: str, clock: datetime, present: list[dict]):
        """A review or test phase removes part of what is present, then the owners fix it."""
        rng = self.rng
        found = [d for d in present if rng.random() < REMOVAL_YIELD[phase]]
        is_review = phase in ("DesignReview", "CodeReview")
        for defect in found:
            flagged = is_review and rng.random() < REVIEW_AGENT_FLAGS
            yield self._defect(defect["phase_injected"], phase, clock, flagged=flagged)
        if is_review:
            owner = "Design" if phase == "DesignReview" else "Code"
            for _ in range(_poisson(rng, FALSE_POSITIVES_PER_REVIEW)):
                yield self._defect(owner, phase, clock, flagged=True, false_positive=True)
        if found:
            # The construction agent that owns the phase's inputs runs again to fix them.
            fixer = "Design" if phase == "DesignReview" else "Code"
            clock, fix_records = self._execute(fixer, clock, work=min(1.0, 0.15 * len(found)))
            yield from fix_records
        return clock, found

    def _defect(self, injected: str, removed: str, clock: datetime, flagged: bool,
                false_positive: bool = False) -> dict:
        rng = self.rng
        distance = PHASE_ORDER[removed] - PHASE_ORDER[injected]
        defect_type = _weighted(rng, DEFECT_TYPES[injected])
        # Later removal costs more (PSP: fix time grows with the phases a defect survives).
        effort_scale = 2 ** distance * rng.lognormvariate(0, 0.4)
        created_at = clock + timedelta(seconds=rng.uniform(1, 120))
        validated = (not false_positive) and (not flagged or rng.random() < HUMAN_VALIDATED)
        resolved = false_positive or rng.random() < 0.92
        self.execution_number += 1
        return {
            "record": "defect_log",
            "defect_id": f"{self.task_id}-D{self.execution_number:02d}",
            "created_at": _iso(created_at),
            "resolved_at": _iso(created_at + timedelta(minutes=rng.uniform(2, 240))) if resolved else None,
            "task_id": self.task_id,
            "project_id": self.project_id,
            "defect_type": defect_type,
            "severity": _weighted(rng, SEVERITIES),
            "phase_injected": injected,
            "phase_removed": removed,
            "component_path": self._component(),
            "function_name": f"fn_{rng.randint(1, 400)}",
            "line_number": rng.randint(1, 900),
            "effort_to_fix_json": {
                "latency_ms": round(900 * effort_scale, 1),
                "tokens": round(600 * effort_scale),
                "api_cost_usd": round(0.004 * effort_scale, 4),
                "retries": min(5, distance // 2),
            },
            "description": (
                f"Review flag rejected by a human: not a defect ({defect_type})" if false_positive
                else f"{defect_type.split('_', 1)[1].replace('_', ' ')} injected in {injected}, found in {removed}"
            ),
            "root_cause": None if false_positive else f"{injected} agent output",
            "resolution_notes": "dismissed" if false_positive else ("fixed" if resolved else None),
            "flagged_by_agent": flagged,
            "validated_by_human": validated,
            "false_positive": false_positive,
        }


def _task_records(seed: int, number: int, tasks: int, start: datetime, end: datetime) -> Iterator[dict]:
    # Each task has its own random stream, so any task can be generated on its own: the
    # output does not depend on how tasks are split into files or across processes.
    rng = random.Random(seed * 10_000_019 + number)
    span = (end - start).total_seconds()
    # Evenly spaced with jitter: created_at increases with the task number.
    created_at = start + timedelta(seconds=span * (number - rng.random()) / tasks)
    return _TaskSimulator(rng, seed, number, created_at, now=end).records()


def _write_file(path: Path, seed: int, numbers: range, tasks: int, start: datetime, end: datetime) -> dict[str, int]:
    """Write the records of tasks `numbers` to `path` (via a .tmp file); return counts per table."""
    counts = {"task_metadata": 0, "agent_cost_vector": 0, "defect_log": 0}
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for number in numbers:
            for record in _task_records(seed, number, tasks, start, end):
                counts[record["record"]] += 1
                handle.write(encode(record))
                handle.write("\n")
    temporary.replace(path)
    return counts


def generate(
    tasks: int,
    seed: int,
    out: Path,
    days: int = 28,
    end: datetime | None = None,
    tasks_per_file: int = 10_000,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> GenerateSummary:
    """Write `tasks` tasks' records as native JSON Lines files into `out`.

    Files are written as `*.tmp` and renamed when complete, so an inbox reader never sees
    half a file. `end` defaults to the start of the current hour (UTC). Files are written in
    parallel by `workers` processes (default: one per core); the output is the same whatever
    the number of workers.
    """
    if tasks < 1:
        raise InvalidInput(f"--tasks must be at least 1 (got {tasks})")
    if days < 1:
        raise InvalidInput(f"--days must be at least 1 (got {days})")
    if tasks_per_file < 1:
        raise InvalidInput(f"--tasks-per-file must be at least 1 (got {tasks_per_file})")
    end = (end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)).astimezone(UTC)
    start = end - timedelta(days=days)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [
        (out / f"synthetic-s{seed}-{index + 1:05d}.jsonl", range(first, min(first + tasks_per_file, tasks + 1)))
        for index, first in enumerate(range(1, tasks + 1, tasks_per_file))
    ]
    counts = {"task_metadata": 0, "agent_cost_vector": 0, "defect_log": 0}
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    done = 0
    with ProcessPoolExecutor(workers) if workers > 1 else _InlineExecutor() as pool:
        futures = {pool.submit(_write_file, path, seed, numbers, tasks, start, end): numbers for path, numbers in jobs}
        for future in as_completed(futures):
            for table, count in future.result().items():
                counts[table] += count
            done += len(futures[future])
            if on_progress:
                on_progress(done)
    return GenerateSummary(tasks=tasks, files=[path for path, _ in jobs], records=counts, start=start, end=end)


class _InlineExecutor:
    """The executor interface, run in this process (one worker: no process start-up cost)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future
