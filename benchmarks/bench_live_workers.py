"""A live fleet over processes (issue 28): `synthkit run --workers 2` against `--workers 1`,
QoS 0, 10,000 devices (one connection each), in the same run, against a Mosquitto of the
benchmark's own; a subscriber records every message, and every (device, seq) must arrive.

    python benchmarks/bench_live_workers.py [--devices 10000] [--iterations 10] [--rounds 2]

The speedup asks far more than any publisher keeps up with, so each run goes as fast as its
processes can hand messages to their sockets. The rate is the messages over the run's own
elapsed time (its longest shard's: connecting 10,000 clients first is not counted, as in
bench_mqtt.py); the whole command's wall time is reported beside it. The cases alternate
which goes first.

Beside each rate, the CPU seconds each side spent over the whole command (connecting
included): synthkit's processes, the broker, the subscriber, and how many of the machine's
cores they kept busy together. Where the two workers leave no core idle, a third process
could add nothing, and the ratio is what the broker's and subscriber's share leaves.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_mqtt import (
    BROKER_CONF,
    LocalBroker,
    Subscriber,
    losses,
    raise_fd_limit,
    wait_for_closed_connections,
)

BIN = Path(sys.executable).parent


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(
    work: Path, broker_pid: int, port: int, devices: int, iterations: int, workers: int, tag: str
) -> dict:
    scenario = work / f"fleet-{tag}.yaml"
    scenario.write_text(
        f"scenario_id: workers_bench\nspeedup_factor: 1e9\ndevices:\n"
        f'  - {{group: w, count: {devices}, id_pattern: "{tag}-{{n:05d}}", '
        f"archetype: stationary_archetype_a, cadence_seconds: 60}}\n"
    )
    wait_for_closed_connections(port)
    sub = Subscriber(port, f"bench/{tag}/+/telemetry", work / f"sub-{tag}.txt")
    argv = [str(BIN / "synthkit"), "--scenario", str(scenario), "--state-file",
            str(work / f"state-{tag}.json"), "run", "--qos", "0", "--iterations",
            str(iterations), "--topic", f"bench/{tag}/{{device_id}}/telemetry", "--port", str(port),
            "--start-at", "2026-03-01T00:00:00Z", "--workers", str(workers)]  # fmt: skip
    cpu = (children_cpu(), cpu_seconds(broker_pid), cpu_seconds(sub.proc.pid))
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    synthkit_cpu = children_cpu() - cpu[0]  # the command and its shards, all waited for
    broker_cpu = cpu_seconds(broker_pid) - cpu[1]
    sub_cpu = cpu_seconds(sub.proc.pid) - cpu[2]
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
        "cpu_s": {
            "synthkit": round(synthkit_cpu, 1),
            "broker": round(broker_cpu, 1),
            "subscriber": round(sub_cpu, 1),
        },
        "cores_busy": round((synthkit_cpu + broker_cpu + sub_cpu) / wall, 2),
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
                    assert broker.proc is not None
                    out = run(work, broker.proc.pid, broker.port, args.devices, args.iterations, workers,
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
