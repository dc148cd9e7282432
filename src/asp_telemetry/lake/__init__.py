"""The lake: raw telemetry as Parquet datasets, read by the dbt project on Spark
(docs/spark.md; the layout is /work/notes/spark-contract.md's)."""
