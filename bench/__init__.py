"""Benchmarks of asp-telemetry: `make bench` (or `python -m bench`).

Generates a synthetic data set, measures loading, incremental dbt builds, the BI queries, the
SDK and how load and build grow with the data, each against a reference measured in the same
run, and writes bench/results.json and docs/benchmarks.md.
"""
