"""What a faults block costs (issue 26): export-csv of 1,000 devices x 30 days at a 5-minute
step (8.64M rows) with a faults block of ten faults, beside the same export without it, in
the same run (alternating, best of --runs each). The bar: at most 15% more time.

    python benchmarks/bench_faults.py [--devices 1000] [--days 30] [--runs 3] [--block B]

Two blocks of ten faults, each mixing every kind (sensor faults over groups and shares of
the fleet, recurring and relative windows, a dropout, drops, duplicates, malformed records):
``typical``, shaped like scenarios/faults_demo_v1.yaml (the template a QA team starts from),
labels about 6% of the rows; ``heavy`` labels a quarter of them (whole-run drifts and offsets
over a fifth of the fleet, a spike on every device): a stress case, where each label costs
its share. synthkit runs as the real CLI in a subprocess, timed end to end; the labels it
wrote are counted from the summary.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "synthkit"
END = "2026-02-12T10:00:00Z"
TYPICAL = """\
faults:
  - {type: stuck_at, devices: {group: a, share: 0.01}, column: raw_*, value: 420, window: {after: 1d, for: 12h}}
  - {type: drift, devices: {group: b, share: 0.05}, column: temperature_c, per_day: 0.8}
  - {type: spike, devices: {share: 0.1}, column: raw_*, rate: 0.02, factor: 1.8, window: {daily: "18:00-23:00"}}
  - {type: noise_burst, devices: {group: a, share: 0.3}, column: battery_percentage, sigma: 1.5, window: {after: 3d, for: 1d}}
  - {type: offset, devices: {share: 0.02}, column: signal_strength_dbm, add: -5, percent: 10}
  - {type: dropout, devices: {share: 0.01}, window: {after: 2d, for: 6h}}
  - {type: drop, devices: {group: a}, share: 0.01, window: {daily: "00:00-05:00"}}
  - {type: duplicate, devices: all, every: 100}
  - {type: malformed, devices: {share: 0.01}, column: temperature_c, share: 0.005}
  - {type: clock_skew, devices: {share: 0.02}, column: local_timestamp_ms, per_day_ms: 1500}
"""
HEAVY = """\
faults:
  - {type: stuck_at, devices: {group: a, share: 0.02}, column: raw_*, value: 0, window: {after: 3d, for: 2d}}
  - {type: drift, devices: {group: b, share: 0.2}, column: temperature_c, per_day: 0.3}
  - {type: spike, devices: all, column: raw_*, rate: 0.01, factor: 2}
  - {type: noise_burst, devices: {group: a}, column: battery_percentage, sigma: 1, window: {daily: "02:00-04:00"}}
  - {type: offset, devices: {share: 0.1}, column: signal_strength_dbm, add: -4, percent: 5}
  - {type: malformed, devices: {share: 0.05}, column: temperature_c, share: 0.01}
  - {type: drop, devices: all, share: 0.005}
  - {type: dropout, devices: {share: 0.01}, window: {after: 10d, for: 1d}}
  - {type: duplicate, devices: all, every: 97}
  - {type: drift, devices: {group: a, share: 0.1}, column: raw_*, per_day: 5, window: {every_days: 3}}
"""


def scenario(devices: int, days: int, faults: str) -> str:
    half = devices // 2
    return (
        f"scenario_id: bench_faults\nseed: 5\nbootstrap: {{days: {days}, step_minutes: 5}}\n"
        "devices:\n"
        f'  - {{group: a, count: {half}, id_pattern: "A-{{n:05d}}", archetype: stationary_archetype_a}}\n'
        f'  - {{group: b, count: {devices - half}, id_pattern: "C-{{n:05d}}", archetype: stationary_archetype_c}}\n'
        + faults
    )


def export(tmp: Path, path: Path) -> tuple[float, dict]:
    out = tmp / "out"
    shutil.rmtree(out, ignore_errors=True)
    (tmp / "state.json").unlink(missing_ok=True)
    args = ["--scenario", str(path), "--state-file", str(tmp / "state.json"), "export-csv",
            "--output-root", str(out), "--end-at", END]  # fmt: skip
    started = time.perf_counter()
    res = subprocess.run([str(BIN), *args], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    return elapsed, json.loads(res.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--block", choices=("typical", "heavy"), default="typical")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        plain, faulted = tmp / "plain.yaml", tmp / "faulted.yaml"
        plain.write_text(scenario(args.devices, args.days, ""))
        block = TYPICAL if args.block == "typical" else HEAVY
        faulted.write_text(scenario(args.devices, args.days, block))
        times: dict[str, list[float]] = {"plain": [], "faulted": []}
        summary: dict = {}
        for _ in range(args.runs):  # alternating: a noisy minute hits both
            times["plain"].append(export(tmp, plain)[0])
            elapsed, summary = export(tmp, faulted)
            times["faulted"].append(elapsed)
    counters = summary["notes"][0]["transforms"]["faults"]["counters"]
    labelled = sum(counters.values())
    best = {k: min(v) for k, v in times.items()}
    print(
        json.dumps(
            {
                "block": args.block,
                "rows": summary["row_count"],
                "labels": labelled,
                "plain_s": round(best["plain"], 2),
                "faulted_s": round(best["faulted"], 2),
                "overhead": round(best["faulted"] / best["plain"] - 1, 3),
                "bar": 0.15,
            }
        )
    )


if __name__ == "__main__":
    main()
