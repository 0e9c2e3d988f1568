"""Ingestion speed (issue 4): import-csv --apply and bootstrap into SQLite and PostgreSQL,
beside a plain per-row SQLAlchemy insert (with dedupe) in the same run.

    python benchmarks/bench_ingest.py [--devices 1000] [--days 7] [--commit-batch-size 5000]

The scenario is `--devices` stationary tanks at a 5-minute step for `--days` days (2.0M rows
by default, so the CLI's ~1 s of start-up is a small part). synthkit runs as the real CLI,
timed end to end, into a fresh database per run; its peak RSS is reported too. The baseline inserts
the same rows one `INSERT ... ON CONFLICT DO NOTHING` statement at a time through a
SQLAlchemy connection, committing every 500 rows, on --baseline-rows rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
from synthkit_reservoir.database.schema import metadata, telemetry  # noqa: E402

PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
END = "2026-02-12T10:00:00Z"


PEAK_RSS_MB: list[float] = []  # of the last synthkit run


def synthkit(*args: str, cwd: Path) -> dict:
    exe = Path(sys.executable).with_name("synthkit")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([str(exe), *args], stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        PEAK_RSS_MB[:] = [usage.ru_maxrss / 1024]
        out.seek(0), err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"synthkit {' '.join(args)} failed:\n{err.read().decode()}")
        return json.loads(out.read())


def fresh_db(kind: str, work: Path) -> tuple[str, object]:
    if kind == "sqlite":
        path = work / f"{uuid.uuid4().hex}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    name = f"sk_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()

    return f"postgresql+psycopg://root@127.0.0.1:5432/{name}", drop


def baseline(url: str, csv_path: Path, rows: int) -> float:
    """Rows/s of a plain per-row insert with ON CONFLICT DO NOTHING."""
    engine = create_engine(url)
    metadata.create_all(engine)
    stmt_factory = pg_insert if url.startswith("postgresql") else sqlite_insert
    rid = uuid.uuid4()
    t0 = time.perf_counter()
    done = 0
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        conn = engine.connect()
        trans = conn.begin()
        for row in reader:
            if done >= rows:
                break
            stmt = (
                stmt_factory(telemetry)
                .values(
                    mqtt_client_id=row["device_id"],
                    seq=int(row["seq"]),
                    received_at=datetime.fromisoformat(row["received_at"].replace("Z", "+00:00")),
                    reservoir_id=rid,
                    distance_mm=float(row["distance_mm"]),
                    level_pct=float(row["level_pct"]),
                    liters=float(row["liters"]),
                    payload=json.dumps(
                        {"seq": int(row["seq"]), "raw": [row[f"raw_{i}"] for i in range(1, 6)]}
                    ),
                )
                .on_conflict_do_nothing()
            )
            conn.execute(stmt)
            done += 1
            if done % 500 == 0:
                trans.commit()
                trans = conn.begin()
        trans.commit()
        conn.close()
    rate = done / (time.perf_counter() - t0)
    engine.dispose()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--commit-batch-size", type=int, default=5000)
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--dir", default=str(ROOT / "benchmarks" / "out"))
    args = parser.parse_args()
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="synthkit-ingest-", dir=args.dir))
    try:
        scenario = work / "s.yaml"
        scenario.write_text(
            f"scenario_id: ingest_bench\nbootstrap: {{days: {args.days}, step_minutes: 5}}\ndevices:\n"
            f'  - {{group: t, count: {args.devices}, id_pattern: "T-{{n:05d}}", archetype: stationary_archetype_a}}\n'
        )
        export = synthkit(
            "--scenario",
            str(scenario),
            "export-csv",
            "--run-id",
            "r",
            "--end-at",
            END,
            "--output-root",
            str(work / "gen"),
            cwd=work,
        )
        rows, artifact = export["row_count"], export["artifact_dir"]
        for kind in args.databases.split(","):
            url, drop = fresh_db(kind, work)
            try:
                base = baseline(url, Path(artifact) / "telemetry_rows.csv", args.baseline_rows)
            finally:
                drop()
            results = {}
            for command in ("import-csv", "bootstrap"):
                url, drop = fresh_db(kind, work)
                try:
                    synthkit("db", "init", "--db-url", url, cwd=work)
                    synthkit(
                        "--scenario", str(scenario), "db", "register", "--db-url", url, cwd=work
                    )
                    state = work / f"{uuid.uuid4().hex}.json"
                    t0 = time.perf_counter()
                    if command == "import-csv":
                        out = synthkit(
                            "--state-file",
                            str(state),
                            "import-csv",
                            "--artifact-dir",
                            artifact,
                            "--apply",
                            "--commit-batch-size",
                            str(args.commit_batch_size),
                            "--db-url",
                            url,
                            cwd=work,
                        )
                    else:
                        out = synthkit(
                            "--scenario",
                            str(scenario),
                            "--state-file",
                            str(state),
                            "bootstrap",
                            "--commit-batch-size",
                            str(args.commit_batch_size),
                            "--db-url",
                            url,
                            cwd=work,
                        )
                    elapsed = time.perf_counter() - t0
                    stored = sum(
                        v for k, v in out["status_counts"].items() if k.startswith("stored:")
                    )
                    results[command] = (
                        round(stored / elapsed),
                        out["rows_per_second"],
                        round(PEAK_RSS_MB[0]),
                    )
                finally:
                    drop()
            print(
                json.dumps(
                    {
                        "database": kind,
                        "rows": rows,
                        "import_csv_rows_per_s": results["import-csv"][0],
                        "import_csv_steady_rows_per_s": results["import-csv"][1],
                        "bootstrap_rows_per_s": results["bootstrap"][0],
                        "bootstrap_steady_rows_per_s": results["bootstrap"][1],
                        "commit_batch_size": args.commit_batch_size,
                        "peak_rss_mb": {
                            "import-csv": results["import-csv"][2],
                            "bootstrap": results["bootstrap"][2],
                        },
                        "baseline_rows_per_s": round(base),
                        "ratio_import": round(results["import-csv"][0] / base, 1),
                    }
                ),
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
