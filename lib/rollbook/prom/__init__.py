"""Prometheus history: range queries -> DataFrames, the metric catalog, SLO checks, charts."""

# The params model embeds this package's section; loading it first keeps the import order
# one-way whichever module of this package is imported first.
import rollbook.config  # noqa: F401
