"""EXPLAIN plans: run, parse, analyse, assert, diff, chart."""
