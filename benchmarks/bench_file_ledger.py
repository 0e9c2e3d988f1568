"""`reconcile --stored FILE` at scale (issue 25): the core's FileLedger (numpy, no database)
beside what it replaced in the same run, the same pairs loaded into an in-memory SQLite
database and asked the reference SQL ledger's GROUP BY and gaps-and-islands queries.

    python benchmarks/bench_file_ledger.py [--devices 1000] [--seqs 1000] [--runs 3]

A CSV of devices x seqs stored (client, seq, stored_at) pairs, every tenth device with a
gap and a duplicate (so islands have work), is read and asked tallies, islands and late for
every device. Both sides parse the file with the same reader, so the figure is the ledger's.
Best of --runs each; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from synthkit_reservoir.database.ledger import SqlLedger

from synthkit.ledger import FileLedger, _pairs


def write_pairs(path: Path, devices: int, seqs: int) -> list[str]:
    clients = [f"DEV-{d:05d}" for d in range(devices)]
    with path.open("w") as fh:
        fh.write("client,seq,stored_at\n")
        for d, client in enumerate(clients):
            for s in range(seqs):
                if d % 10 == 0 and s == seqs // 2:
                    continue  # a gap
                fh.write(f"{client},{s},2026-01-01T00:{s % 60:02d}:00Z\n")
            if d % 10 == 0:
                fh.write(f"{client},0,2026-01-01T00:00:00Z\n")  # a duplicate
    return clients


def in_memory_sql(path: Path) -> SqlLedger:
    """What FileLedger was: the pairs in an in-memory SQLite database, asked in SQL."""
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE stored (client TEXT, seq INTEGER, stored_at TEXT)"))
        raw = conn.connection.driver_connection
        rows = [
            (c, s, t.isoformat() if t else None)
            for c, s, t in _pairs(path, "client", "seq", "stored_at")
        ]
        raw.executemany("INSERT INTO stored VALUES (?, ?, ?)", rows)
    return SqlLedger(engine, "stored", client="client", seq="seq", stored_at="stored_at")


def ask(ledger, clients: list[str]) -> tuple[int, int]:
    tallies = ledger.tallies(clients)
    islands = ledger.islands(clients)
    ledger.late({c: (0, 10**9) for c in clients}, datetime(2026, 1, 1, 0, 30, tzinfo=UTC))
    return sum(t.rows for t in tallies.values()), sum(len(v) for v in islands.values())


def best(runs: int, fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--seqs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stored.csv"
        clients = write_pairs(path, args.devices, args.seqs)
        numpy_s, numpy_out = best(args.runs, lambda: ask(FileLedger(path), clients))
        sql_s, sql_out = best(args.runs, lambda: ask(in_memory_sql(path), clients))
    assert numpy_out == sql_out, (numpy_out, sql_out)
    rows = numpy_out[0]
    print(
        json.dumps(
            {
                "rows": rows,
                "file_ledger_s": round(numpy_s, 2),
                "in_memory_sqlite_s": round(sql_s, 2),
                "file_ledger_rows_per_s": round(rows / numpy_s),
                "ratio": round(sql_s / numpy_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
