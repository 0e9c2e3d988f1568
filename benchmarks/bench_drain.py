"""The analytics drain (issue 15): `reservoir_daily` folded from stored telemetry, on SQLite
and PostgreSQL, beside a plain `SELECT ... GROUP BY` of the same rows in the same run.

    python benchmarks/bench_drain.py [--devices 200] [--days 7] [--batches 200,10000] [--backend sqlite,postgresql]

Telemetry is stored the real way (`synthkit db init`, `db register`, `bootstrap`: devices x
days at a 5-minute step); then, for each batch size, the read model and its cursor are reset
and `drain` (the consumer `bootstrap --drain-analytics` runs) is timed over every row. The
baseline is the aggregation alone: `SELECT reservoir_id, <UTC day>, count(*), min, max, sum
FROM telemetry GROUP BY 1, 2`, which a drain cannot beat. Rows/s = stored rows / seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
DAY = {"sqlite": "date(received_at)", "postgresql": "CAST(received_at AT TIME ZONE 'UTC' AS date)"}


def synthkit(*args: str) -> None:
    subprocess.run([str(BIN / "synthkit"), *args], check=True, capture_output=True, text=True)


def stored(url: str, scenario: Path, state: Path) -> int:
    synthkit("db", "init", "--db-url", url)
    synthkit("--scenario", str(scenario), "db", "register", "--db-url", url)
    synthkit(
        "--scenario",
        str(scenario),
        "--state-file",
        str(state),
        "bootstrap",
        "--db-url",
        url,
        "--commit-batch-size",
        "5000",
    )
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM telemetry")).scalar_one()
    engine.dispose()
    return rows


def timed_drain(url: str, batch: int) -> float:
    from synthkit_reservoir.database.analytics import drain
    from synthkit_reservoir.database.engines import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM reservoir_daily"))
        conn.execute(text("DELETE FROM analytics_cursor"))
    t0 = time.perf_counter()
    drain(engine, batch)
    seconds = time.perf_counter() - t0
    engine.dispose()
    return seconds


def timed_plain(url: str) -> float:
    engine = create_engine(url)
    dialect = engine.dialect.name
    with engine.connect() as conn:
        t0 = time.perf_counter()
        conn.execute(
            text(
                f"SELECT reservoir_id, {DAY[dialect]}, count(*), min(level_pct), max(level_pct), "
                f"sum(level_pct) FROM telemetry GROUP BY 1, 2"
            )
        ).all()
        seconds = time.perf_counter() - t0
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--batches", default="200,10000")
    parser.add_argument("--backend", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="synthkit-drain-") as tmp:
        work = Path(tmp)
        scenario = work / "drain.yaml"
        scenario.write_text(
            f"scenario_id: drain_bench\nseed: 3\nbootstrap: {{days: {args.days}, step_minutes: 5}}\ndevices:\n"
            f'  - {{group: t, count: {args.devices}, id_pattern: "DR-{{n:04d}}", archetype: stationary_archetype_a}}\n'
        )
        for backend in args.backend.split(","):
            admin = None
            if backend == "sqlite":
                url = f"sqlite:///{work}/drain.db"
            else:
                name = f"synthkit_drain_{uuid.uuid4().hex[:8]}"
                admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f"CREATE DATABASE {name}"))
                url = f"postgresql+psycopg://root@127.0.0.1:5432/{name}"
            try:
                rows = stored(url, scenario, work / f"{backend}.json")
                plain = timed_plain(url)
                result = {
                    "database": backend,
                    "rows": rows,
                    "baseline_group_by_rows_per_s": round(rows / plain),
                }
                for batch in (int(b) for b in args.batches.split(",")):
                    result[f"drain_batch_{batch}_rows_per_s"] = round(
                        rows / timed_drain(url, batch)
                    )
                print(json.dumps(result), flush=True)
            finally:
                if admin is not None:
                    with admin.connect() as conn:
                        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    admin.dispose()


if __name__ == "__main__":
    main()
