"""Every benchmark on this tree and on another commit, in the same run (issue 12's bar: each
within 5% of the commit before the change).

    python benchmarks/compare_revisions.py --against REV [--rounds 3] [--only export,mqtt]
    python benchmarks/compare_revisions.py --this HEAD --against HEAD~1   # both as commits

With ``--this REV`` this side is a commit too, in its own worktree, so the working tree can
change while the benchmarks run.

REV gets a temporary worktree and environment of its own (benchmarks/trees.py). Each round
runs every benchmark once per tree, the order of the trees alternating between rounds so
that neither always runs on a warmer machine; a benchmark measures whichever tree's
``synthkit`` sits beside the interpreter that runs it. The sizes are smaller than the
benchmarks' own defaults (minutes, not an hour); each benchmark's README section has its
full-size figures. For every figure the median over rounds is reported per tree, with the
ratio (this tree / REV; above 1 is faster, for times too) and whether it is within 5%.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
from pathlib import Path

from trees import tree_python

HERE = Path(__file__).resolve().parent
BENCHES: dict[str, list[str]] = {
    "export": [
        "bench_export.py",
        "--cases",
        "fleet_1000x30d_5min",
        "--repeat",
        "2",
        "--baseline-rows",
        "50000",
    ],
    "telematics": [
        "bench_telematics.py",
        "--events",
        "3000000",
        "--repeat",
        "2",
        "--baseline-events",
        "50000",
    ],
    "ingest": ["bench_ingest.py", "--devices", "500", "--days", "7", "--baseline-rows", "5000"],
    "validate": ["bench_validate.py", "--sizes", "10000,50000"],
    "listen": ["bench_listen.py", "--devices", "100", "--iterations", "200"],
    "mqtt": [
        "bench_mqtt.py",
        "--devices",
        "2000",
        "--iterations",
        "3",
        "--qos0-seconds",
        "5",
        "--qos0-demand",
        "20000",
    ],
}
CASE_KEYS = ("case", "format", "database", "qos")


def run(python: Path, argv: list[str]) -> dict[str, dict[str, float]]:
    """{case: {figure: value}} from the JSON lines one benchmark prints."""
    out = subprocess.run(
        [str(python), str(HERE / argv[0]), *argv[1:]], capture_output=True, text=True, check=True
    )
    figures: dict[str, dict[str, float]] = {}
    for line in out.stdout.splitlines():
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        case = "/".join(str(row[k]) for k in CASE_KEYS if k in row)
        figures[case] = {k: float(v) for k, v in row.items() if _is_figure(k, v)}
    return figures


def _is_figure(key: str, value: object) -> bool:
    timed = "per_s" in key or key.endswith("_seconds") or key.endswith("_seconds_best")
    ours = not key.startswith(("baseline", "goal", "bare_", "demanded"))
    return timed and ours and isinstance(value, int | float) and not isinstance(value, bool)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", required=True)
    parser.add_argument(
        "--this", default=None, help="measure this commit instead of the working tree"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(BENCHES))
    args = parser.parse_args()
    names = args.only.split(",")
    samples: dict[tuple[str, str, str, str], list[float]] = {}
    worst = 1.0
    with (
        tree_python(args.against) as other,
        (
            tree_python(args.this) if args.this else contextlib.nullcontext(Path(sys.executable))
        ) as mine,
    ):
        trees = {"this tree": mine, args.against: other}
        for rnd in range(args.rounds):
            order = list(trees.items()) if rnd % 2 == 0 else list(trees.items())[::-1]
            for name in names:
                for tree, python in order:
                    for case, figures in run(python, BENCHES[name]).items():
                        for figure, value in figures.items():
                            samples.setdefault((name, case, figure, tree), []).append(value)
                print(f"round {rnd + 1}: {name} done", file=sys.stderr, flush=True)
    for name, case, figure in sorted({k[:3] for k in samples}):
        mine = statistics.median(samples[(name, case, figure, "this tree")])
        theirs = statistics.median(samples[(name, case, figure, args.against)])
        faster = mine / theirs if "per_s" in figure else theirs / mine
        worst = min(worst, faster)
        print(
            json.dumps(
                {
                    "benchmark": name,
                    "case": case,
                    "figure": figure,
                    "this tree": mine,
                    args.against: theirs,
                    "ratio": round(faster, 3),
                    "within_5pct": faster >= 0.95,
                }
            )
        )
    return 0 if worst >= 0.95 else 1


if __name__ == "__main__":
    raise SystemExit(main())
