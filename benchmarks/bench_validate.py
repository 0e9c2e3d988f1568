"""Scenario validation time (issues 3 and 11): fleets listed one by one at 1k / 10k / 100k
devices, and a 10,000-device fleet written as device groups.

    python benchmarks/bench_validate.py [--sizes 1000,10000,100000]

Times the real CLI (`synthkit --scenario X validate`, start-up included). The baselines run
in the same process on the same text: a plain `yaml.load` with libyaml (no rules, no line
numbers, no validation: the floor for reading the file), and strictyaml's `dirty_load`
(the previous parser, whose time grows with the square of the file) at the sizes it can
finish. Linear growth shows as a flat time per device.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import strictyaml
import yaml

GOALS = {10_000: 2.0, 100_000: 20.0}  # seconds, end to end (issue 11)
STRICTYAML_UP_TO = 2_000  # beyond this it takes minutes


def grouped(n: int) -> str:
    half = n // 2
    return (
        "scenario_id: fleet\ndevices:\n"
        f'  - {{group: a, count: {half}, id_pattern: "A-{{n:05d}}", archetype: stationary_archetype_a}}\n'
        f'  - {{group: c, count: {n - half}, id_pattern: "C-{{n:05d}}", archetype: stationary_archetype_c}}\n'
    )


def explicit(n: int) -> str:
    lines = ["scenario_id: fleet", "devices:"]
    for i in range(n):
        lines += [
            f"  - device_id: DEV{i:06d}",
            "    archetype: stationary_archetype_a",
            "    mode: STATIONARY",
            "    cadence_seconds: 300",
        ]
    return "\n".join(lines) + "\n"


def cli_validate(path: Path) -> tuple[float, int]:
    exe = Path(sys.executable).with_name("synthkit")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(exe), "--scenario", str(path), "validate"], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - t0, len(json.loads(proc.stdout)["devices_validated"])


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.yaml"
        path.write_text(grouped(10_000))
        cli_validate(path)  # warm the caches
        best = min(cli_validate(path)[0] for _ in range(3))
        print(
            json.dumps(
                {
                    "case": "10,000 devices as groups",
                    "devices": 10_000,
                    "validate_seconds_best": round(best, 3),
                    "goal_seconds": 2.0,
                }
            )
        )
        first: tuple[int, float] | None = None
        for n in sizes:
            text = explicit(n)
            path.write_text(text)
            seconds, count = min(cli_validate(path) for _ in range(2 if n <= 10_000 else 1))
            assert count == n, (count, n)
            row = {
                "case": f"{n:,} devices listed one by one",
                "devices": n,
                "bytes": len(text),
                "validate_seconds": round(seconds, 3),
                "us_per_device": round(seconds / n * 1e6, 1),
                "goal_seconds": GOALS.get(n),
                # the cost of each device past the first size: flat when growth is linear
                "marginal_us_per_device": round((seconds - first[1]) / (n - first[0]) * 1e6, 1)
                if first
                else None,
                "baseline_pyyaml_load_seconds": round(
                    timed(lambda text=text: yaml.load(text, Loader=loader)), 3
                ),
            }
            if n <= STRICTYAML_UP_TO:
                row["baseline_strictyaml_load_seconds"] = round(
                    timed(lambda text=text: strictyaml.dirty_load(text, allow_flow_style=True)), 3
                )
            print(json.dumps(row))
            first = first or (n, seconds)


if __name__ == "__main__":
    main()
