"""``ingest listen`` throughput (issue 13: the listener became the mqtt source into the
reference_db sink): messages per second from a queued persistent session into SQLite.

    python benchmarks/bench_listen.py [--devices 100] [--iterations 200]

On a broker of its own (no queue limit), a session is created (a 1 s listen), then `run`
publishes devices x iterations messages while no listener is connected (the broker queues
them for the session), then `ingest listen --count N` drains them; its own elapsed time gives
the rate. Uses the
synthkit beside the interpreter that runs it (compare_revisions.py runs it per tree).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

BIN = Path(sys.executable).parent


def sh(*args: str) -> dict:
    proc = subprocess.run([str(BIN / "synthkit"), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"synthkit {' '.join(args)}: {proc.stderr}")
    return json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    total = args.devices * args.iterations
    from bench_mqtt import LocalBroker

    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalBroker(Path(tmp), extra="max_queued_messages 0\nmax_inflight_messages 0\n") as broker,
    ):
        work = Path(tmp)
        port = ["--port", str(broker.port)]
        tag = uuid.uuid4().hex[:8]
        scenario = work / "s.yaml"
        scenario.write_text(
            f"scenario_id: listen_{tag}\nspeedup_factor: 100000\ndevices:\n"
            f"  - {{group: t, count: {args.devices}, id_pattern: 'L{tag}-{{n:04d}}', "
            "archetype: stationary_archetype_a, cadence_seconds: 60}\n"
        )
        url = f"sqlite:///{work / 'db.sqlite'}"
        topic = f"bench-{tag}/+/telemetry"
        listen = [
            "ingest",
            "listen",
            "--db-url",
            url,
            "--topic",
            topic,
            "--client-id",
            f"bench-listener-{tag}",
            *port,
        ]
        sh("db", "init", "--db-url", url)
        sh("--scenario", str(scenario), "db", "register", "--db-url", url)
        sh(*listen, "--duration-seconds", "1")
        sh(
            "--scenario",
            str(scenario),
            "--state-file",
            str(work / "seq.json"),
            "run",
            "--iterations",
            str(args.iterations),
            "--topic",
            f"bench-{tag}/{{device_id}}/telemetry",
            *port,
        )
        summary = sh(*listen, "--count", str(total), "--duration-seconds", "120")
    elapsed = summary["elapsed_seconds"]
    print(
        json.dumps(
            {
                "case": f"listen_{total}",
                "messages": summary["received"],
                "stored": summary["status_counts"],
                "listen_msgs_per_s": round(summary["received"] / elapsed),
            }
        )
    )


if __name__ == "__main__":
    main()
