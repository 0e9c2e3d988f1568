"""Reconcile at scale (issue 14): `synthkit reconcile` of 10M stored rows against their run
record, on SQLite and PostgreSQL, beside a plain `SELECT ... GROUP BY` of the same shape in
the same run.

    python benchmarks/bench_reconcile.py [--devices 1000] [--seqs 10000] [--gapped 10] [--backend sqlite,postgresql]

The reference schema is created with `synthkit db init`; devices x seqs telemetry rows are
inserted by SQL (generate_series / a recursive CTE), and one run record names every device's
range. Timed: the plain query (`SELECT mqtt_client_id, count(*), min(seq), max(seq) FROM
telemetry GROUP BY mqtt_client_id`), then `synthkit reconcile` (the CLI, start-up included)
with everything stored, then again after deleting one seq range in --gapped devices (those
are read as islands). Best of --runs each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
PLAIN = "SELECT mqtt_client_id, count(*), min(seq), max(seq) FROM telemetry GROUP BY mqtt_client_id"
RID = "00000000000000000000000000000001"  # a reservoir id (SQLite keeps UUIDs as 32 hex digits)


def fill(url: str, devices: int, seqs: int) -> None:
    sqlite = url.startswith("sqlite")
    engine = create_engine(url)
    rid = RID if sqlite else "00000000-0000-0000-0000-000000000001"
    with engine.begin() as conn:
        if sqlite:
            conn.execute(text("PRAGMA journal_mode=WAL"))
            numbers = (
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :top) "
            )
            seq_src, dev_src = (
                "(SELECT i AS s FROM n WHERE i < :seqs)",
                "(SELECT i AS d FROM n WHERE i < :devices)",
            )
        else:
            numbers = ""
            seq_src, dev_src = (
                "generate_series(0, :seqs - 1) AS s(s)",
                "generate_series(0, :devices - 1) AS d(d)",
            )
        dev_id = "printf('DEV-%05d', d)" if sqlite else "'DEV-' || lpad(d::text, 5, '0')"
        now = "'2026-01-01 00:00:00.000000'" if sqlite else "now()"
        conn.execute(
            text(
                f"{numbers}INSERT INTO telemetry (mqtt_client_id, seq, received_at, reservoir_id, distance_mm, "
                f"level_pct, liters, payload) SELECT {dev_id}, s, {now}, '{rid}', 1.0, 1.0, 1.0, '{{}}' "
                f"FROM {seq_src} CROSS JOIN {dev_src} ORDER BY s"
            ),
            {"top": max(devices, seqs), "seqs": seqs, "devices": devices},
        )
        if not sqlite:
            conn.execute(text("ANALYZE telemetry"))
    engine.dispose()


def record(state: Path, devices: int, seqs: int) -> str:
    from synthkit.runs import RunLog, RunRecord, StreamRange, runs_dir

    streams = {f"DEV-{d:05d}": StreamRange(0, seqs - 1) for d in range(devices)}
    rec = RunRecord(
        run_id="bench-run",
        command="bootstrap",
        family="reservoir",
        streams=streams,
        status="finished",
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:00Z",
    )
    RunLog(runs_dir(state)).write(rec)
    return rec.run_id


def best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def plain(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text(PLAIN)).fetchall()
    engine.dispose()


def cli_reconcile(url: str, state: Path, expect_complete: bool) -> dict:
    res = subprocess.run(
        [str(BIN / "synthkit"), "--state-file", str(state), "reconcile", "--db-url", url],
        capture_output=True,
        text=True,
    )
    if res.returncode != (0 if expect_complete else 3):
        raise SystemExit(f"reconcile exited {res.returncode}: {res.stderr}")
    return json.loads(res.stdout)


def bench(backend: str, args: argparse.Namespace, work: Path) -> dict:
    if backend == "sqlite":
        url, drop = f"sqlite:///{work}/reconcile.db", None
    else:
        import psycopg

        name = f"sk_bench_rec_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        url, drop = f"postgresql+psycopg://root@127.0.0.1:5432/{name}", (admin, name)
    try:
        subprocess.run(
            [str(BIN / "synthkit"), "db", "init", "--db-url", url], check=True, capture_output=True
        )
        t0 = time.perf_counter()
        fill(url, args.devices, args.seqs)
        filled = time.perf_counter() - t0
        state = work / f"{backend}-state.json"
        record(state, args.devices, args.seqs)
        rows = args.devices * args.seqs
        plain(url)  # warm the cache once, for both
        t_plain = best(lambda: plain(url), args.runs)
        t_complete = best(lambda: cli_reconcile(url, state, True), args.runs)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "DELETE FROM telemetry WHERE mqtt_client_id IN (SELECT DISTINCT mqtt_client_id FROM telemetry "
                    "ORDER BY 1 LIMIT :n) AND seq BETWEEN 100 AND 199"
                ),
                {"n": args.gapped},
            )
        engine.dispose()
        t_gapped = best(lambda: cli_reconcile(url, state, False), args.runs)
        report = cli_reconcile(url, state, False)
        assert report["missing"] == 100 * args.gapped, report["missing"]
        return {
            "backend": backend,
            "rows": rows,
            "fill_s": round(filled, 1),
            "plain_group_by_s": round(t_plain, 3),
            "reconcile_complete_s": round(t_complete, 3),
            "reconcile_gapped_s": round(t_gapped, 3),
            "gapped_devices": args.gapped,
            "ratio_complete": round(t_complete / t_plain, 2),
        }
    finally:
        if drop is not None:
            admin, name = drop
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--seqs", type=int, default=10_000)
    parser.add_argument("--gapped", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        for backend in args.backend.split(","):
            print(json.dumps(bench(backend, args, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
