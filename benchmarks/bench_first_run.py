"""The first run after installing (issue 15's bar: the README's main job in <= 5 s on its first
call), beside the same install with the install-time kernel build switched off.

    python benchmarks/bench_first_run.py

For each case, a copy of this tree (the files git tracks or would track) gets a fresh virtual
environment and is installed the README's way (``pip install -e '.[test]'``); then the main job
runs twice in an empty directory. ``prebuild`` is the default install; ``no prebuild`` sets
``SYNTHKIT_PREBUILD=0``, so its first call compiles the kernels, as every first call did
before. Install times are reported too: the compile moves into the install, it does not
vanish. Needs the package index pip uses (its cache makes the second install quicker, so the
cases alternate order with ``--rounds``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN_JOB = ["telematics", "generate", "--events", "1000", "--out", "telemetry_events.jsonl"]
CASES = {"prebuild": {}, "no prebuild": {"SYNTHKIT_PREBUILD": "0"}}


def copy_tree(into: Path) -> None:
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, into / name)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - t0


def measure(case: str, scratch: Path) -> dict[str, float]:
    tree = scratch / "tree"
    copy_tree(tree)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NUMBA_CACHE_DIR", "VIRTUAL_ENV", "PYTHONPATH")
    }
    env.update(CASES[case])
    venv = tree / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-e", ".[test]"]
    install = timed(pip, tree, env)
    work = scratch / "work"
    work.mkdir()
    job = [str(venv / "bin" / "synthkit"), *MAIN_JOB]
    first = timed(job, work, env)
    second = timed(job, work, env)
    return {"install_s": install, "first_call_s": first, "second_call_s": second}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {case: [] for case in CASES}
    order = list(CASES)
    for r in range(args.rounds):
        for case in order if r % 2 == 0 else order[::-1]:
            with tempfile.TemporaryDirectory(prefix="synthkit-first-run-") as scratch:
                figures = measure(case, Path(scratch))
            results[case].append(figures)
            print(
                f"round {r + 1} {case}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()),
                file=sys.stderr,
            )
    summary = {
        case: {key: round(statistics.median(f[key] for f in runs), 2) for key in runs[0]}
        for case, runs in results.items()
    }
    print(
        json.dumps(
            {
                "command": " ".join(["synthkit", *MAIN_JOB]),
                "rounds": args.rounds,
                "median": summary,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
