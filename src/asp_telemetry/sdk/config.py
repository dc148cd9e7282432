"""Where the SDK delivers records, from `asp.configure(...)` or ASP_SDK_* variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from asp_telemetry.paths import inbox_dir


class SdkConfig(BaseModel):
    sink: Literal["jsonl", "postgres"] = "jsonl"
    # The inbox the pipeline's ingest flow reads; also the spool the postgres sink falls back to.
    spool_dir: Path = Field(default_factory=inbox_dir)
    # Records queued beyond this go to the spool synchronously on the caller's thread.
    max_queue: int = Field(default=100_000, gt=0)
    batch_size: int = Field(default=5_000, gt=0)
    flush_interval_s: float = Field(default=1.0, gt=0)
    # For the postgres sink; None means the usual resolution (ASP_DATABASE_URL, PG*, embedded).
    database_url: str | None = Field(default=None, repr=False)
    otel: bool = False

    @classmethod
    def from_environment(cls) -> SdkConfig:
        values: dict[str, object] = {}
        mapping = {
            "ASP_SDK_SINK": "sink",
            "ASP_SDK_SPOOL_DIR": "spool_dir",
            "ASP_SDK_MAX_QUEUE": "max_queue",
            "ASP_SDK_BATCH_SIZE": "batch_size",
            "ASP_SDK_FLUSH_INTERVAL": "flush_interval_s",
            "ASP_SDK_DATABASE_URL": "database_url",
        }
        for variable, field in mapping.items():
            if os.environ.get(variable):
                values[field] = os.environ[variable]
        if os.environ.get("ASP_SDK_OTEL", "").lower() in {"1", "true", "yes"}:
            values["otel"] = True
        return cls.model_validate(values)
