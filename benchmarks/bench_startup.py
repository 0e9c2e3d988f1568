"""CLI start-up (issue 12): `synthkit --help`, `synthkit plugins --json` and `synthkit version`,
beside a bare interpreter start and a bare `import typer` (issue 15's bar: `--help` within
0.5 s of it), and beside another commit of the project in the same run.

    python benchmarks/bench_startup.py [--runs 15] [--against REV]

Each command runs `--runs` times, alternating between this tree and `--against` (a temporary
git worktree of REV in an environment of its own, benchmarks/trees.py, so its own entry
points load); the median wall time is reported. The baseline is `python -c pass`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from trees import tree_python

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["plugins", "--json"], ["version"])


def timed(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--against", help="a git revision to measure in the same run")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        trees = {"this tree": Path(sys.executable)}
        if args.against:
            trees[args.against] = stack.enter_context(tree_python(args.against))
        exes = {name: str(python.with_name("synthkit")) for name, python in trees.items()}
        env = dict(os.environ)
        for exe in exes.values():  # warm caches (bytecode, numba's on-disk cache)
            for command in COMMANDS:
                timed([exe, *command], env)
        base = statistics.median(
            timed([sys.executable, "-c", "pass"], env) for _ in range(args.runs)
        )
        # issue 15's bar: --help within 0.5 s of a bare `import typer`
        typer_base = statistics.median(
            timed([sys.executable, "-c", "import typer"], env) for _ in range(args.runs)
        )
        for command in COMMANDS:
            samples: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.runs):
                for name, exe in exes.items():
                    samples[name].append(timed([exe, *command], env))
            row = {
                "command": "synthkit " + " ".join(command),
                "baseline_python_start_s": round(base, 3),
                "baseline_import_typer_s": round(typer_base, 3),
            }
            row.update(
                {
                    f"median_s [{name}]": round(statistics.median(v), 3)
                    for name, v in samples.items()
                }
            )
            if args.against:
                row["ratio"] = round(
                    statistics.median(samples["this tree"])
                    / statistics.median(samples[args.against]),
                    2,
                )
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
