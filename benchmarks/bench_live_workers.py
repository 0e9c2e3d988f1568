"""A live fleet over processes (issue 28): `synthkit run --workers 2` against `--workers 1`,
QoS 0, 10,000 devices (one connection each), in the same run, against a Mosquitto of the
benchmark's own; a subscriber records every message, and every (device, seq) must arrive.

    python benchmarks/bench_live_workers.py [--devices 10000] [--iterations 10] [--rounds 2]

The speedup asks far more than any publisher keeps up with, so each run goes as fast as its
processes can hand messages to their sockets. The rate is the messages over the run's own
elapsed time (its longest shard's: connecting 10,000 clients first is not counted, as in
bench_mqtt.py); the whole command's wall time is reported beside it. The cases alternate
which goes first.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_mqtt import BROKER_CONF, LocalBroker, Subscriber, losses, raise_fd_limit

BIN = Path(sys.executable).parent


def run(work: Path, port: int, devices: int, iterations: int, workers: int, tag: str) -> dict:
    scenario = work / f"fleet-{tag}.yaml"
    scenario.write_text(
        f"scenario_id: workers_bench\nspeedup_factor: 1e9\ndevices:\n"
        f'  - {{group: w, count: {devices}, id_pattern: "{tag}-{{n:05d}}", '
        f"archetype: stationary_archetype_a, cadence_seconds: 60}}\n"
    )
    sub = Subscriber(port, f"bench/{tag}/+/telemetry", work / f"sub-{tag}.txt")
    argv = [str(BIN / "synthkit"), "--scenario", str(scenario), "--state-file",
            str(work / f"state-{tag}.json"), "run", "--qos", "0", "--iterations",
            str(iterations), "--topic", f"bench/{tag}/{{device_id}}/telemetry", "--port", str(port),
            "--start-at", "2026-03-01T00:00:00Z", "--workers", str(workers)]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"synthkit run --workers {workers} failed:\n{proc.stderr}")
    summary = json.loads(proc.stdout)
    lines = sub.finish(devices * iterations)
    lost = losses(lines, devices, tag, iterations, level=2)
    return {
        "workers": workers,
        "emitted": summary["emitted"],
        "elapsed_s": summary["elapsed_seconds"],
        "wall_s": round(wall, 2),
        "msgs_per_s": round(summary["emitted"] / summary["elapsed_seconds"]),
        "received": len(lines),
        "lost": lost,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    raise_fd_limit(args.devices + 2_000)  # the broker holds every connection
    with tempfile.TemporaryDirectory(prefix="bench_workers_") as tmp:
        work = Path(tmp)
        with LocalBroker(work, extra=BROKER_CONF) as broker:
            best: dict[int, dict] = {}
            for r in range(args.rounds):
                for workers in (1, 2) if r % 2 == 0 else (2, 1):
                    out = run(work, broker.port, args.devices, args.iterations, workers,
                              f"W{workers}R{r}")  # fmt: skip
                    print(json.dumps(out), flush=True)
                    if workers not in best or out["msgs_per_s"] > best[workers]["msgs_per_s"]:
                        best[workers] = out
            ratio = best[2]["msgs_per_s"] / best[1]["msgs_per_s"]
            print(
                f"\nQoS 0, {args.devices:,} devices x {args.iterations}: --workers 1 "
                f"{best[1]['msgs_per_s']:,} msg/s, --workers 2 {best[2]['msgs_per_s']:,} msg/s, "
                f"{ratio:.2f}x; lost {best[1]['lost']} and {best[2]['lost']}"
            )


if __name__ == "__main__":
    main()
