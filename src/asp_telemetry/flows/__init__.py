"""Prefect flows: ingest, transform, bootstrap_snapshot, write_back and the pipeline that runs
them in order. Each calls the same library functions as the CLI (asp_telemetry.*)."""
