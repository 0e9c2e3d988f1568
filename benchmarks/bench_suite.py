"""The suite you can run while you work (issue 25: under 3 minutes on this machine).

    python benchmarks/bench_suite.py [--workers 0]

Times `python -m pytest -m "not services and not slow"` (the part that needs no service and
starts no process) beside a plain baseline in the same run: collecting the whole suite
without running it, which is what every pytest invocation pays before the first test.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} exited {out.returncode}:\n{out.stdout[-2000:]}")
    return time.perf_counter() - started, out.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--workers", type=int, default=0, help="pytest-xdist workers (0: one process)"
    )
    args = parser.parse_args()
    workers = ["-n", str(args.workers)] if args.workers else []
    baseline_s, _ = timed("--collect-only")
    fast_s, summary = timed("-m", "not services and not slow", *workers)
    print(
        json.dumps(
            {
                "benchmark": "suite",
                "case": f"fast subset, {args.workers or 1} process(es)",
                "fast_subset_seconds": round(fast_s, 1),
                "baseline_collect_seconds": round(baseline_s, 1),
                "goal_seconds": 180,
                "meets_goal": fast_s < 180,
                "pytest_summary": summary,
            }
        )
    )


if __name__ == "__main__":
    main()
