"""Live MQTT at scale (issue 5): `synthkit run` with one connection per device, beside a bare
paho-mqtt publisher in the same run, against a Mosquitto of the benchmark's own.

    python benchmarks/bench_mqtt.py [--devices 10000] [--iterations 5] [--qos0-seconds 10]

1. QoS 1: a bare paho client (one connection, loop_start, 1,000 messages in flight) publishes
   devices x iterations messages of the same size as fast as it can; then `synthkit run`
   publishes devices x iterations messages from --devices connections (one per device,
   speedup high enough that pacing never waits). Both rates run from the first publish to the
   last PUBACK. A `mosquitto_sub` at QoS 1 records every message: zero loss means every
   (device, seq) arrived.
2. QoS 0 with speedup: `synthkit run --qos 0` for --qos0-seconds with a speedup asking 50,000
   messages/s of the fleet; the rate is what was handed to the sockets, the subscriber count
   is reported beside it.
3. Small fleets (issue 23, item 17; --small-fleets 1,10,100): `synthkit run --qos 0` of N
   devices at a speedup no publisher keeps up with, --small-messages in all, beside a bare
   paho client publishing as many QoS 0 messages on one connection in the same run. Bar: one
   device >= 10,000 messages/s.

The benchmark raises its own file-descriptor limit to the hard limit (the broker and the CLI
inherit it) and starts Mosquitto with max_connections -1 and unlimited queues.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
# where the throwaway broker lives in the commit measured (compare_revisions runs this
# script against older ones too)
try:
    from synthkit_mqtt.testbroker import LocalBroker
except ImportError:
    try:
        from synthkit.brokertest import LocalBroker  # issue 12 .. issue 25's first steps
    except ImportError:
        from synthkit_mqtt.broker import LocalBroker  # before issue 12

BROKER_CONF = (
    "max_connections -1\nmax_queued_messages 0\nmax_inflight_messages 0\n"
    "persistence false\nset_tcp_nodelay true\nlog_type error\n"
)
SEQ = re.compile(rb'"seq": ?(\d+)')


def raise_fd_limit(need: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        raise SystemExit(
            f"the hard file limit is {hard}; {need} descriptors are needed (ulimit -Hn)"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def time_wait_sockets(port: int) -> int:
    """Connections to or from ``port`` in TIME_WAIT (state 06 of /proc/net/tcp*)."""
    hex_port = f":{port:04X}"
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            next(fh)
            for line in fh:
                local, remote, state = line.split()[1:4]
                count += state == "06" and (local.endswith(hex_port) or remote.endswith(hex_port))
    return count


def wait_for_closed_connections(port: int, timeout: float = 180) -> None:
    """Until a previous run's closed connections to ``port`` have left TIME_WAIT (60 s on Linux).
    They hold most of the 28,000 ephemeral ports, so the next run's connects search for a free
    one and its publishers paid up to twice the CPU: the rounds measured each other."""
    deadline = time.monotonic() + timeout
    while time_wait_sockets(port) and time.monotonic() < deadline:
        time.sleep(1)


class Subscriber:
    """mosquitto_sub at QoS 1 writing `topic payload` lines to a file, read after the run."""

    def __init__(self, port: int, topic: str, out: Path) -> None:
        self.out = out
        self.fh = open(out, "wb")
        self.proc = subprocess.Popen(
            [
                "mosquitto_sub",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-t",
                topic,
                "-q",
                "1",
                "-i",
                f"bench-sub-{os.getpid()}-{out.stem}",
                "-F",
                "%t %p",
            ],
            stdout=self.fh,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)  # subscribed before anything is published

    def finish(self, expected: int, idle_s: float = 3.0) -> list[bytes]:
        """Lines received, after they stop arriving (or reach ``expected``)."""
        last, last_change = -1, time.monotonic()
        while time.monotonic() - last_change < idle_s:
            size = self.out.stat().st_size
            if size != last:
                last, last_change = size, time.monotonic()
            if expected and self.out.read_bytes().count(b"\n") >= expected:
                break
            time.sleep(0.2)
        self.proc.terminate()
        self.proc.wait()
        self.fh.close()
        return self.out.read_bytes().splitlines()


def bare_paho(port: int, messages: int, size: int, qos: int) -> float:
    """Messages/s of one plain paho client, first publish to last acknowledgement."""
    done = threading.Event()
    acked = [0]

    def on_publish(client, userdata, mid, rc, props) -> None:
        acked[0] += 1
        if acked[0] == messages:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bare-{os.getpid()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(0.5)
    pad = b"x" * max(0, size - 40)
    t0 = time.perf_counter()
    for seq in range(messages):
        client.publish("bench/bare/telemetry", b'{"seq":%d,"pad":"%s"}' % (seq, pad), qos=qos)
    if qos == 0:
        while client.want_write():
            time.sleep(0.001)
    elif not done.wait(600):
        raise SystemExit(f"bare paho: only {acked[0]} of {messages} acknowledged")
    elapsed = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return messages / elapsed


def synthkit_run(
    work: Path,
    port: int,
    devices: int,
    *,
    speedup: float,
    qos: int,
    iterations: int = 0,
    seconds: float = 0,
) -> dict:
    wait_for_closed_connections(port)  # a run before it does not slow its connects
    scenario = work / f"fleet-{qos}.yaml"
    scenario.write_text(
        f"scenario_id: mqtt_bench\nspeedup_factor: {speedup}\ndevices:\n"
        f'  - {{group: b, count: {devices}, id_pattern: "B{qos}-{{n:05d}}", archetype: stationary_archetype_a, cadence_seconds: 60}}\n'
    )
    args = [
        str(Path(sys.executable).with_name("synthkit")),
        "--scenario",
        str(scenario),
        "--state-file",
        str(work / f"state-{qos}.json"),
        "run",
        "--qos",
        str(qos),
        "--topic",
        "bench/{device_id}/telemetry",
        "--port",
        str(port),
    ]
    args += (
        ["--iterations", str(iterations)] if iterations else ["--duration-seconds", str(seconds)]
    )
    proc = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"synthkit run failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def small_fleet(work: Path, port: int, devices: int, messages: int) -> None:
    """Part 3: a small fleet as fast as it can go (QoS 0), beside a bare paho loop."""
    bare = bare_paho(port, messages, 330, qos=0)
    iterations = max(1, messages // devices)
    run = synthkit_run(work, port, devices, speedup=1e9, qos=0, iterations=iterations)
    print(
        json.dumps(
            {
                "qos": 0,
                "small_fleet": devices,
                "messages": devices * iterations,
                "bare_paho_msgs_per_s": round(bare),
                "synthkit_msgs_per_s": run["messages_per_second"],
                "ratio": round(run["messages_per_second"] / bare, 3),
                "emitted": run["emitted"],
            }
        ),
        flush=True,
    )


def losses(lines: list[bytes], devices: int, prefix: str, per_device: int, level: int = 1) -> int:
    """Expected (device, seq) pairs that the subscriber never saw (the device id is the
    topic's ``level``)."""
    seen = set()
    for line in lines:
        topic, _, payload = line.partition(b" ")
        m = SEQ.search(payload)
        if m:
            seen.add((topic.split(b"/")[level].decode(), int(m.group(1))))
    expected = {(f"{prefix}-{n:05d}", s) for n in range(1, devices + 1) for s in range(per_device)}
    return len(expected - seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--iterations", type=int, default=5, help="QoS 1 messages per device")
    parser.add_argument("--qos0-seconds", type=float, default=10.0)
    parser.add_argument(
        "--qos0-demand", type=float, default=50_000, help="messages/s asked of the fleet"
    )
    parser.add_argument(
        "--small-fleets", default="", help="comma-separated fleet sizes for part 3 (e.g. 1,10,100)"
    )
    parser.add_argument(
        "--small-messages", type=int, default=50_000, help="messages per small-fleet run"
    )
    parser.add_argument("--skip-large", action="store_true", help="only part 3")
    args = parser.parse_args()
    limit = raise_fd_limit(args.devices + 2_000)
    with tempfile.TemporaryDirectory(prefix="synthkit-mqtt-") as tmp:
        work = Path(tmp)
        with LocalBroker(work, extra=BROKER_CONF) as broker:
            for fleet in [int(x) for x in args.small_fleets.split(",") if x]:
                small_fleet(work, broker.port, fleet, args.small_messages)
            if args.skip_large:
                return
            n = args.devices * args.iterations
            sub = Subscriber(broker.port, "bench/bare/#", work / "bare.txt")
            bare = bare_paho(broker.port, n, 330, qos=1)
            bare_heard = len(sub.finish(n))

            sub = Subscriber(broker.port, "bench/+/telemetry", work / "run1.txt")
            run1 = synthkit_run(
                work, broker.port, args.devices, speedup=1e9, qos=1, iterations=args.iterations
            )
            lines = sub.finish(n)
            lost = losses(lines, args.devices, "B1", args.iterations)
            print(
                json.dumps(
                    {
                        "qos": 1,
                        "devices": args.devices,
                        "messages": n,
                        "fd_limit": limit,
                        "bare_paho_msgs_per_s": round(bare),
                        "bare_heard": bare_heard,
                        "synthkit_msgs_per_s": run1["messages_per_second"],
                        "ratio": round(run1["messages_per_second"] / bare, 3),
                        "emitted": run1["emitted"],
                        "acknowledged": run1["acknowledged"],
                        "failed": run1["failed"],
                        "subscriber_heard": len(lines),
                        "lost": lost,
                    }
                ),
                flush=True,
            )

            speedup = args.qos0_demand * 60 / args.devices  # cadence 60 s
            sub = Subscriber(broker.port, "bench/+/telemetry", work / "run0.txt")
            run0 = synthkit_run(
                work, broker.port, args.devices, speedup=speedup, qos=0, seconds=args.qos0_seconds
            )
            heard0 = len(sub.finish(run0["emitted"]))
            print(
                json.dumps(
                    {
                        "qos": 0,
                        "devices": args.devices,
                        "speedup_factor": speedup,
                        "demanded_msgs_per_s": args.qos0_demand,
                        "seconds": args.qos0_seconds,
                        "synthkit_msgs_per_s": run0["messages_per_second"],
                        "emitted": run0["emitted"],
                        "failed": run0["failed"],
                        "subscriber_heard": heard0,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
