"""``mqtt_simulator``: the seed's legacy wrapper (section 12), kept for existing E2E users.

    mqtt_simulator --single
    mqtt_simulator --batch --count 20 --register     # a listener then stores what it publishes

It builds a temporary one-device (or ``--count``-device) scenario and delegates to
``synthkit run``. The broker is ``--host``/``--port``, else the ``SYNTHKIT_MQTT_*``
environment settings, else 127.0.0.1:1883 without TLS.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

from synthkit.api import keep_freed_memory, resolve_url, run
from synthkit_reservoir.database.urls import DEFAULT_URL


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mqtt_simulator",
        description="Publish live reservoir telemetry from simulated tanks (a wrapper around `synthkit run`).",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--single", action="store_true", help="one simulated device")
    mode.add_argument("--batch", action="store_true", help="--count simulated devices")
    parser.add_argument(
        "--count", type=int, default=20, help="devices in --batch mode (default 20)"
    )
    parser.add_argument("--host", help="broker host (default: SYNTHKIT_MQTT_HOST, else 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, help="broker port (default: SYNTHKIT_MQTT_PORT, else 1883)"
    )
    parser.add_argument(
        "--topic",
        help="topic template, {device_id} replaced (default: devices/{device_id}/telemetry)",
    )
    parser.add_argument("--iterations", type=int, default=1, help="messages per device (default 1)")
    parser.add_argument(
        "--speedup",
        type=float,
        default=60.0,
        help="speedup_factor (default 60: a message a second)",
    )
    parser.add_argument(
        "--device-prefix", default="E2E-SIM", help="device ids are PREFIX-01, PREFIX-02, ..."
    )
    parser.add_argument("--state-file", default=".tmp/synthetic_sim_seq_state.json")
    parser.add_argument(
        "--register",
        action="store_true",
        help="register the simulated devices in the ingestion database first (`synthkit db register`): "
        "a listener refuses messages of unknown devices",
    )
    parser.add_argument(
        "--db-url",
        help="with --register: the database (default: SYNTHKIT_DB_URL, else the SQLite file)",
    )
    args = parser.parse_args(argv)
    if args.batch and not 1 <= args.count <= 100_000:
        parser.error("--count must be between 1 and 100000")
    return args


def scenario_text(args: argparse.Namespace) -> str:
    count = 1 if args.single else args.count
    return (
        "scenario_id: mqtt_simulator\n"
        f"speedup_factor: {args.speedup}\n"
        "devices:\n"
        f'  - {{group: sim, count: {count}, id_pattern: "{args.device_prefix}-{{n:02d}}", '
        "archetype: stationary_archetype_a, cadence_seconds: 60}\n"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mqtt_simulator-") as tmp:
        path = Path(tmp) / "mqtt_simulator.yaml"
        path.write_text(scenario_text(args))
        forwarded = [
            "--scenario",
            str(path),
            "--state-file",
            args.state_file,
            "run",
            "--iterations",
            str(args.iterations),
        ]
        if args.host:
            forwarded += ["--host", args.host]
        if args.port:
            forwarded += ["--port", str(args.port)]
        if args.topic:
            forwarded += ["--topic", args.topic]
        keep_freed_memory()
        if args.register:
            url = ["--db-url", args.db_url] if args.db_url else []
            with contextlib.redirect_stdout(
                sys.stderr
            ):  # stdout stays one JSON document: the run's
                code = run(["--scenario", str(path), "db", "register", *url])
            if code != 0:
                sys.exit(code)
            forwarded += url or [
                "--db-url",
                resolve_url(None, DEFAULT_URL),
            ]  # the summary then says what was stored
        code = run(forwarded)
    sys.exit(code)


if __name__ == "__main__":
    main()
