"""Benchmark: how long `rollbook --help` and `rollbook explain analyze` take to start.

Baselines measured in the same run with the same interpreter: `python -c pass` (the
interpreter alone) and `python -c "import pandas"`. Prints the best and median wall time of
each (fresh processes) and their ratio to `import pandas`. Goals: `--help` no slower than
`import pandas`, `explain analyze` of a 20-node plan within 3x of it.

    .venv/bin/python bench/cli_startup.py [--repeat 7] [--nodes 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rollbook.explain.synthetic import synthetic_document


def rollbook(*args: str) -> list[str]:
    """`rollbook ARGS` run by this interpreter (as the installed console script does)."""
    script = "import sys; from rollbook.cli import main; sys.argv[0] = 'rollbook'; main()"
    return [sys.executable, "-c", script, *args]


def wall_times(command: list[str], repeat: int) -> list[float]:
    """Seconds of each of `repeat` runs of `command` (which must succeed)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--nodes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plan = str(Path(tmp) / "plan.json")
        Path(plan).write_text(json.dumps(synthetic_document(args.nodes)))
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import pandas"': [sys.executable, "-c", "import pandas"],
            "rollbook --help": rollbook("--help"),
            f"rollbook explain analyze ({args.nodes} nodes)": rollbook("explain", "analyze", plan),
            "rollbook explain analyze --json": rollbook("explain", "analyze", plan, "--json"),
        }
        wall_times(commands["rollbook --help"], 1)  # warm the file cache and .pyc files
        measured = {name: wall_times(command, args.repeat) for name, command in commands.items()}
    pandas = statistics.median(measured['python -c "import pandas"'])
    print(f"wall time of fresh processes, {args.repeat} runs each ({sys.executable})")
    print(f"{'command':<40}{'best':>9}{'median':>9}   median / import pandas")
    for name, times in measured.items():
        median = statistics.median(times)
        print(f"{name:<40}{min(times):>8.3f}s{median:>8.3f}s   {median / pandas:5.2f}x")


if __name__ == "__main__":
    main()
