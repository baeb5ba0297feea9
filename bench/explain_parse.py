"""Benchmark: parse + analyse a 10,000-node EXPLAIN ANALYZE plan.

Baseline: `json.loads` of the same document, measured in the same run. Prints the time of
each and their ratio (how many json.loads the full analysis costs).

    .venv/bin/python bench/explain_parse.py [--nodes 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import time

from rollbook.explain.analysis import analyse
from rollbook.explain.parse import parse_plan
from rollbook.explain.synthetic import synthetic_document


def best_of(repeat: int, func) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = json.dumps(synthetic_document(args.nodes))
    nodes = len(parse_plan(text).nodes)
    baseline = best_of(args.repeat, lambda: json.loads(text))
    parse_only = best_of(args.repeat, lambda: parse_plan(text))
    full = best_of(args.repeat, lambda: analyse(parse_plan(text)))
    print(f"plan: {nodes:,} nodes, {len(text) / 1e6:.1f} MB of JSON (best of {args.repeat})")
    print(f"json.loads (baseline):        {baseline * 1e3:8.1f} ms")
    ratio = parse_only / baseline
    print(f"parse_plan (tree + metrics):  {parse_only * 1e3:8.1f} ms  ratio {ratio:5.1f}x")
    print(f"parse_plan + analyse:         {full * 1e3:8.1f} ms  ratio {full / baseline:5.1f}x")


if __name__ == "__main__":
    main()
