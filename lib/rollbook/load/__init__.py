"""Open-loop load generator: virtual clients with their own connections, worker processes,
HDR latency histograms merged exactly, and a verdict that knows when the generator, not
the target, was the limit.

`run_load(LoadSpec(...))` runs one load test and returns a `LoadResult`.
"""
