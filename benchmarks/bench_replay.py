"""Replay speed (issue 14): `synthkit replay` of 100,000 messages beside `synthkit run`'s own
rate for the same messages, in the same run, against a Mosquitto of the benchmark's own.

    python benchmarks/bench_replay.py [--devices 1000] [--iterations 100] [--rounds 3]

Each round: `synthkit run` publishes devices x iterations messages at QoS 1 (speedup high
enough that pacing never waits); then `synthkit replay --run ID` re-emits every one of them
(regenerated from the run record, byte for byte) through the same mqtt sink. Rates are the
commands' own (`messages_per_second` of run; replayed / elapsed of replay: from the first
publish to the last PUBACK, regeneration included). A mosquitto_sub at QoS 1 records both; the
replayed payloads must equal the run's, byte for byte. Medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mqtt import BROKER_CONF, LocalBroker, Subscriber, raise_fd_limit, synthkit_run


def replay(work: Path, qos: int, run_id: str) -> dict:
    args = [
        str(Path(sys.executable).with_name("synthkit")),
        "--state-file",
        str(work / f"state-{qos}.json"),
        "replay",
        "--run",
        run_id,
        "--qos",
        str(qos),
    ]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"synthkit replay failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    raise_fd_limit(args.devices + 2_000)
    n = args.devices * args.iterations
    runs, replays = [], []
    with tempfile.TemporaryDirectory(prefix="synthkit-replay-") as tmp:
        work = Path(tmp)
        with LocalBroker(work, extra=BROKER_CONF) as broker:
            for number in range(args.rounds):
                sub = Subscriber(broker.port, "bench/+/telemetry", work / f"run-{number}.txt")
                ran = synthkit_run(
                    work, broker.port, args.devices, speedup=1e9, qos=1, iterations=args.iterations
                )
                first = sorted(sub.finish(n))
                sub = Subscriber(broker.port, "bench/+/telemetry", work / f"replay-{number}.txt")
                done = replay(work, 1, ran["run_id"])
                again = sorted(sub.finish(n))
                result = done["runs"][0]
                rate = result["replayed"] / result["elapsed_seconds"]
                runs.append(ran["messages_per_second"])
                replays.append(rate)
                print(
                    json.dumps(
                        {
                            "round": number + 1,
                            "messages": n,
                            "run_msgs_per_s": ran["messages_per_second"],
                            "replay_msgs_per_s": round(rate),
                            "ratio": round(rate / ran["messages_per_second"], 3),
                            "run_acknowledged": ran["acknowledged"],
                            "replay_acknowledged": result["acknowledged"],
                            "byte_identical": first == again and len(first) == n,
                        }
                    ),
                    flush=True,
                )
    print(
        json.dumps(
            {
                "median_run_msgs_per_s": round(statistics.median(runs)),
                "median_replay_msgs_per_s": round(statistics.median(replays)),
                "median_ratio": round(statistics.median(replays) / statistics.median(runs), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
