"""EXPLAIN plans: run, parse, analyse, assert, diff, chart."""

# The params model embeds this package's sections; loading it first keeps the import order
# one-way whichever module of this package is imported first.
import rollbook.config  # noqa: F401
