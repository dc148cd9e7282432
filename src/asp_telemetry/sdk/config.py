"""Where the SDK delivers records, from `asp.configure(...)` or ASP_SDK_* variables.

A validated dataclass rather than a Pydantic model: agent processes import the SDK at start
and Pydantic alone costs them more than the 50 ms `import asp_telemetry` may take
(docs/sdk.md, "Weight"). Every value is checked here; a wrong one raises InvalidInput naming
the setting and the variable it came from.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from asp_telemetry.errors import InvalidInput
from asp_telemetry.paths import inbox_dir

SINKS = ("jsonl", "postgres")
ENVIRONMENT = {
    "ASP_SDK_SINK": "sink",
    "ASP_SDK_SPOOL_DIR": "spool_dir",
    "ASP_SDK_MAX_QUEUE": "max_queue",
    "ASP_SDK_BATCH_SIZE": "batch_size",
    "ASP_SDK_FLUSH_INTERVAL": "flush_interval_s",
    "ASP_SDK_DATABASE_URL": "database_url",
    "ASP_SDK_OTEL": "otel",
}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class SdkConfig:
    sink: Literal["jsonl", "postgres"] = "jsonl"
    # The inbox the pipeline's ingest flow reads; also the spool the postgres sink falls back to.
    spool_dir: Path = field(default_factory=inbox_dir)
    # Records queued beyond this go to the spool synchronously on the caller's thread.
    max_queue: int = 100_000
    batch_size: int = 5_000
    flush_interval_s: float = 1.0
    # For the postgres sink; None means the usual resolution (ASP_DATABASE_URL, PG*, embedded).
    database_url: str | None = field(default=None, repr=False)
    otel: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        if self.sink not in SINKS:
            raise InvalidInput(f"sink must be one of {', '.join(SINKS)} (got {self.sink!r})")
        if self.sink == "postgres" and importlib.util.find_spec("psycopg") is None:
            raise InvalidInput("sink postgres needs the loader's packages: pip install 'asp-telemetry[postgres]' "
                               "(or keep the default sink, jsonl, which needs nothing)")
        set_(self, "spool_dir", Path(self.spool_dir).expanduser())
        for name in ("max_queue", "batch_size"):
            set_(self, name, _number(name, getattr(self, name), int))
        set_(self, "flush_interval_s", _number("flush_interval_s", self.flush_interval_s, float))
        set_(self, "otel", _flag(self.otel))
        if self.database_url is not None and not isinstance(self.database_url, str):
            raise InvalidInput("database_url must be a string (postgresql://...)")

    @classmethod
    def from_environment(cls, **overrides: Any) -> SdkConfig:
        """The ASP_SDK_* variables, then `overrides` (None: not given)."""
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for variable, name in ENVIRONMENT.items():
            if os.environ.get(variable):
                values[name], sources[name] = os.environ[variable], variable
        for name, value in overrides.items():
            if value is not None:
                values[name] = value
                sources.pop(name, None)
        try:
            return cls(**values)
        except InvalidInput as exc:
            setting = str(exc).split(" ", 1)[0]
            if setting in sources:
                raise InvalidInput(f"{exc} (from {sources[setting]})") from None
            raise

    def replace(self, **changes: Any) -> SdkConfig:
        return dataclasses.replace(self, **changes)


def _number(name: str, value: Any, kind: type) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number (got {value!r})") from None
    if isinstance(value, float) and kind is int and not value.is_integer():
        raise InvalidInput(f"{name} must be a whole number (got {value!r})")
    if not number > 0:
        raise InvalidInput(f"{name} must be greater than 0 (got {value!r})")
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise InvalidInput(f"otel must be true or false (got {value!r})")
