"""The ingestion endpoint's rate (issue 27): `synthkit telematics serve` on SQLite, fed by
`synthkit telematics generate --out URL` (the http sink, 5,000 events a request), beside a
plain `executemany` of the same rows into the same table layout, in the same run, best of
--runs each. The bar: the endpoint stores at least 50,000 events/s.

    python benchmarks/bench_serve.py [--events 500000] [--drivers 100] [--runs 3]

The endpoint's rate is what the sink's run takes end to end (generating, encoding, posting,
parsing, checking and storing every event, each process on its own core); the baseline
inserts rows already made, from Python tuples, in one transaction.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "synthkit"
COLUMNS = ("driver_id", "seq", "event_id", "trip_id", "ts", "event_type", "latitude",
           "longitude", "speed_mph", "heading_deg", "period_minute", "payload")  # fmt: skip


def serve(tmp: Path, db: Path) -> tuple[subprocess.Popen, str]:
    ready = tmp / "ready.json"
    ready.unlink(missing_ok=True)
    proc = subprocess.Popen([str(BIN), "--db-url", f"sqlite:///{db}", "telematics", "serve",
                             "--port", "0", "--ready-file", str(ready)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    while not ready.exists():
        if proc.poll() is not None:
            raise SystemExit(proc.communicate()[1].decode())
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())["ingest"]


def endpoint_run(tmp: Path, events: int, drivers: int) -> float:
    db = tmp / "served.db"
    for p in tmp.glob("served.db*"):
        p.unlink()
    (tmp / "state.json").unlink(missing_ok=True)
    shutil.rmtree(tmp / "state.runs", ignore_errors=True)  # each run starts a fresh fleet
    proc, url = serve(tmp, db)
    try:
        started = time.perf_counter()
        res = subprocess.run([str(BIN), "--state-file", str(tmp / "state.json"), "telematics",
                              "generate", "--events", str(events), "--drivers", str(drivers),
                              "--out", url], capture_output=True, text=True)  # fmt: skip
        elapsed = time.perf_counter() - started
        if res.returncode != 0:
            raise SystemExit(res.stderr)
        summary = json.loads(res.stdout)
        assert summary["outcomes"] == {"stored:HTTP_200": events}, summary["outcomes"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    assert json.loads(out)["events"] == events
    return elapsed


def plain_run(tmp: Path, rows: list[tuple]) -> float:
    """The same rows into the same table with sqlite3's executemany, one transaction."""
    db = tmp / "plain.db"
    for p in tmp.glob("plain.db*"):
        p.unlink()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE t (driver_id TEXT NOT NULL, seq BIGINT, event_id TEXT NOT NULL, trip_id TEXT,"
        " ts TEXT NOT NULL, event_type TEXT NOT NULL, latitude FLOAT, longitude FLOAT,"
        " speed_mph FLOAT, heading_deg INTEGER, period_minute BIGINT, payload TEXT NOT NULL,"
        " stored_at DATETIME NOT NULL, UNIQUE (driver_id, seq))"
    )
    started = time.perf_counter()
    with conn:
        conn.executemany(
            f"INSERT INTO t VALUES ({', '.join('?' * 13)}) ON CONFLICT DO NOTHING",
            [(*r, "2026-12-07 00:00:00") for r in rows],
        )
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--drivers", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        source = tmp / "events.jsonl"
        subprocess.run([str(BIN), "telematics", "generate", "--events", str(args.events),
                        "--drivers", str(args.drivers), "--out", str(source)],
                       check=True, capture_output=True)  # fmt: skip
        rows = []
        with source.open() as fh:
            for line in fh:
                e = json.loads(line)
                rows.append((*(e[c] for c in COLUMNS[:-1]), line.rstrip("\n")))
        ours, plain = [], []
        for _ in range(args.runs):  # alternating: a noisy minute hits both
            ours.append(endpoint_run(tmp, args.events, args.drivers))
            plain.append(plain_run(tmp, rows))
    best, base = min(ours), min(plain)
    print(json.dumps({
        "events": args.events, "drivers": args.drivers, "cpus": os.cpu_count(),
        "endpoint_s": round(best, 2), "endpoint_events_per_s": round(args.events / best),
        "executemany_s": round(base, 2), "executemany_events_per_s": round(args.events / base),
        "bar_events_per_s": 50_000,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
