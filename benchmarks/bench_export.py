"""export-csv speed (issue 3): synthkit vs a plain per-row implementation, in the same run.

    python benchmarks/bench_export.py            # both cases of the issue, 3 runs each

Cases: 1,000 stationary devices x 30 days at a 5-minute step (8.64M rows), and 10 devices x
365 days at a 1-minute step (5.26M rows). synthkit runs as the real CLI in a subprocess,
timed end to end (start-up, scenario validation and kernel loading included); its own
steady-state rate and the child's peak RSS are reported too. The baseline does the same
stationary-tank step per row the plain way (random.Random, a dict per row, csv.DictWriter)
on --baseline-rows rows; its rate is per row, so the ratio holds on a noisy machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

CASES = {
    "fleet_1000x30d_5min": ("bootstrap: {days: 30, step_minutes: 5}", 1000, 300),
    "fleet_10x365d_1min": ("bootstrap: {days: 365, step_minutes: 1}", 10, 60),
}
END = "2026-02-12T10:00:00Z"
FIELDS = [
    "device_id",
    "seq",
    "received_at",
    "local_timestamp_ms",
    "schema_version",
    "mode",
    "archetype",
    "level_pct",
    "liters",
    "distance_mm",
    "inflow_liters",
    "outflow_liters",
    "raw_1",
    "raw_2",
    "raw_3",
    "raw_4",
    "raw_5",
    "temperature_c",
    "battery_percentage",
    "signal_strength_dbm",
]


def scenario_text(case: str) -> str:
    boot, devices, cadence = CASES[case]
    half = devices // 2
    return (
        f"scenario_id: {case}\n{boot}\ndevices:\n"
        f'  - {{group: a, count: {half}, id_pattern: "A-{{n:05d}}", '
        f"archetype: stationary_archetype_a, cadence_seconds: {cadence}}}\n"
        f'  - {{group: c, count: {devices - half}, id_pattern: "C-{{n:05d}}", '
        f"archetype: stationary_archetype_c, cadence_seconds: {cadence}}}\n"
    )


def baseline(path: Path, rows: int, devices: int, step_s: int) -> float:
    """Rows/s of the stationary-tank step written plainly: per row a dict and DictWriter."""
    rng = random.Random(42)
    weights = [
        0.6,
        0.5,
        0.5,
        0.5,
        0.6,
        0.8,
        1.2,
        1.4,
        1.3,
        1.0,
        0.9,
        0.9,
        1.0,
        1.0,
        1.0,
        1.0,
        1.1,
        1.3,
        1.4,
        1.3,
        1.0,
        0.9,
        0.7,
        0.6,
    ]
    norm = [w * 24 / sum(weights) for w in weights]
    liters = [5000.0] * devices
    battery = [95.0] * devices
    start = datetime(2026, 1, 13, 10, tzinfo=UTC)
    t0 = time.perf_counter()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        for i in range(rows):
            k, d = divmod(i, devices)
            at = start + timedelta(seconds=k * step_s)
            step_h = step_s / 3600
            demand = 30.0 * norm[at.hour] * step_h * max(0.0, 1 + 0.25 * rng.gauss(0, 1))
            served = min(demand, liters[d])
            inflow = 0.0
            if rng.random() < 1 - math.exp(-2.0 / 24 * step_h):
                inflow = min(500 * rng.lognormvariate(-0.04, 0.29), 8000 - liters[d] + served)
            liters[d] = min(8000.0, max(0.0, liters[d] - served + inflow))
            level = liters[d] / 8000 * 100
            distance = 2200 - 2200 * level / 100
            battery[d] = min(100.0, max(1.0, battery[d] - 1.2 * step_h / 24))
            row = {
                "device_id": f"A-{d:05d}",
                "seq": k,
                "received_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "local_timestamp_ms": int(at.timestamp() * 1000) - 500,
                "schema_version": 1,
                "mode": "STATIONARY",
                "archetype": "stationary_archetype_a",
                "level_pct": round(level, 2),
                "liters": round(liters[d], 1),
                "distance_mm": round(distance, 1),
                "inflow_liters": round(inflow, 1),
                "outflow_liters": round(served, 1),
                "temperature_c": round(
                    24 + 6 * math.cos(at.hour / 24 * 6.283) + rng.gauss(0, 0.3), 1
                ),
                "battery_percentage": round(battery[d], 1),
                "signal_strength_dbm": round(-78 + 4 * rng.gauss(0, 1)),
            }
            for j in range(1, 6):
                row[f"raw_{j}"] = max(0, round(distance + 3 * rng.gauss(0, 1)))
            writer.writerow(row)
    return rows / (time.perf_counter() - t0)


def synthkit_run(scenario: Path, root: Path) -> tuple[float, float, dict]:
    exe = Path(sys.executable).with_name("synthkit")
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            str(exe),
            "--scenario",
            str(scenario),
            "export-csv",
            "--run-id",
            "bench",
            "--end-at",
            END,
            "--output-root",
            str(root),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - t0
    summary = json.loads(proc.stdout)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    shutil.rmtree(root, ignore_errors=True)
    return summary["row_count"] / elapsed, peak_mb, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--baseline-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=str(Path(__file__).resolve().parent / "out"))
    args = parser.parse_args()
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="synthkit-export-", dir=args.dir))
    try:
        for case in args.cases.split(","):
            scenario = work / f"{case}.yaml"
            scenario.write_text(scenario_text(case))
            _, devices, step_s = CASES[case]
            base = baseline(work / "baseline.csv", args.baseline_rows, devices, step_s)
            (work / "baseline.csv").unlink()
            rates, steady, peak, rows = [], [], 0.0, 0
            for _ in range(args.repeat):
                rate, peak, summary = synthkit_run(scenario, work / "out")
                rates.append(rate)
                steady.append(summary["rows_per_second"])
                rows = summary["row_count"]
            print(
                json.dumps(
                    {
                        "case": case,
                        "rows": rows,
                        "synthkit_rows_per_s_first": round(rates[0]),
                        "synthkit_rows_per_s_best": round(max(rates)),
                        "synthkit_steady_rows_per_s_best": max(steady),
                        "baseline_rows_per_s": round(base),
                        "ratio_best": round(max(rates) / base, 1),
                        "peak_rss_mb": round(peak),
                    }
                ),
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
