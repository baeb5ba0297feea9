"""Prometheus history: range queries -> DataFrames, the metric catalog, SLO checks, charts."""
