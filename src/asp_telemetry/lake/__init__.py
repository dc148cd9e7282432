"""The lake: raw telemetry as Parquet datasets for Spark (docs/spark.md, docs/loading.md).

    load_paths(lake_dir(), ["exports/"])      # `asp-telemetry load --target spark`

Layout: `<lake>/<raw table>/record_date=YYYY-MM-DD/part-<load_id>-<n>.parquet`, plus
`rejected_records/`, `loads/` (the ledger), `model_prices/` and `unpriced_models/`.
paths.py says where and how files are named, schemas.py their columns (derived from the
loader's), files.py how they are written whole, writer.py the loader's lake writer,
loader.py the loader with it, ledger.py the loads, snapshot.py the bootstrap snapshots;
session.py starts Spark, and session_prices.py writes the price rows a Spark build joins
(its price step, with Spark).
"""

from __future__ import annotations

from asp_telemetry.errors import AspError
from asp_telemetry.lake.paths import LAKE_VARIABLE, lake_dir

__all__ = ["LAKE_VARIABLE", "lake_dir", "load_paths"]


class SparkExtraMissing(AspError, ImportError):
    """The lake needs pyarrow, which the `spark` extra installs."""


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ModuleNotFoundError:
        raise SparkExtraMissing(
            "the Spark target's lake needs pyarrow: pip install 'asp-telemetry[spark]'"
        ) from None


def __getattr__(name: str):
    # pyarrow is imported only when the lake is written (the `spark` extra)
    if name == "load_paths":
        _require_pyarrow()
        from asp_telemetry.lake.loader import load_paths

        return load_paths
    raise AttributeError(name)
