"""Scenario validation time (issue 3): a 10,000-device fleet, and strictyaml's growth.

    python benchmarks/bench_validate.py

Times the real CLI (`synthkit --scenario X validate`, start-up included) on a 10,000-device
scenario written as device groups, and on scenarios listing 250 / 500 / 1,000 devices one by
one, where strictyaml itself dominates (it deep-copies the document per node, which grows
quadratically). The baseline for the explicit lists is strictyaml.load alone, in this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import strictyaml


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
        lines += [f"  - device_id: DEV{i:05d}", "    archetype: stationary_archetype_a",
                  "    mode: STATIONARY", "    cadence_seconds: 300"]  # fmt: skip
    return "\n".join(lines) + "\n"


def cli_validate(path: Path) -> tuple[float, int]:
    exe = Path(sys.executable).with_name("synthkit")
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "--scenario", str(path), "validate"], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return time.perf_counter() - t0, len(json.loads(proc.stdout)["devices_validated"])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.yaml"
        path.write_text(grouped(10_000))
        cli_validate(path)  # warm the caches
        best = min(cli_validate(path)[0] for _ in range(3))
        print(json.dumps({"case": "10,000 devices as groups", "devices": 10_000,
                          "validate_seconds_best": round(best, 3), "goal_seconds": 2.0}))  # fmt: skip
        for n in (250, 500, 1000):
            text = explicit(n)
            path.write_text(text)
            t0 = time.perf_counter()
            strictyaml.dirty_load(text, allow_flow_style=True)
            parse = time.perf_counter() - t0
            seconds, count = cli_validate(path)
            print(json.dumps({"case": f"{n} devices listed one by one", "devices": count,
                              "validate_seconds": round(seconds, 3),
                              "strictyaml_load_seconds": round(parse, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
