"""The reference ingestion database on SQLite and on the real PostgreSQL (127.0.0.1:5432):
schema, registration, the ingestion contract, preflight checks, import-csv and bootstrap."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, delete, func, select, text, update
from synthkit_reservoir.database.ingest import Ingestor, TelemetryRows
from synthkit_reservoir.database.schema import devices, reservoirs, telemetry
from synthkit_reservoir.database.store import PostgresStore

from synthkit.testing import run_cli
from tests.conftest import BIN

PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
END = "2026-02-12T10:00:00Z"
SCENARIO = """scenario_id: ingest_t
seed: 5
bootstrap: {days: 2, step_minutes: 5}
devices:
  - {group: tanks, count: 6, id_pattern: "TANK-{n:02d}", archetype: stationary_archetype_c}
  - {device_id: truck-1, archetype: mobile_high_efficiency, route_id: loop}
routes:
  - route_id: loop
    points:
      - {point_id: depot, kind: BASE, latitude: -25.96, longitude: 32.58}
      - {point_id: well, kind: REFILL, latitude: -25.94, longitude: 32.55}
      - {point_id: school, kind: CLIENT, latitude: -25.91, longitude: 32.57}
"""


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "ingest_t.yaml"
    path.write_text(SCENARIO)
    return path


def cli(*args: str) -> dict:
    res = run_cli(list(args))
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def prepared(db_url: str, scenario: Path) -> None:
    cli("db", "init", "--db-url", db_url)
    cli("--scenario", str(scenario), "db", "register", "--db-url", db_url)


def exported(scenario: Path, root: Path) -> dict:
    return cli(
        "--scenario",
        str(scenario),
        "export-csv",
        "--run-id",
        "r",
        "--end-at",
        END,
        "--output-root",
        str(root),
    )


def count(db_url: str, distinct: bool = False) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        if distinct:
            q = select(func.count()).select_from(
                select(telemetry.c.mqtt_client_id, telemetry.c.seq).distinct().subquery()
            )
        else:
            q = select(func.count()).select_from(telemetry)
        n = conn.execute(q).scalar_one()
    engine.dispose()
    return int(n)


def test_init_and_register_are_idempotent(db_url, scenario):
    first = cli("db", "init", "--db-url", db_url)
    assert "telemetry" in first["tables_created"]
    assert cli("db", "init", "--db-url", db_url)["tables_created"] == []
    reg = cli("--scenario", str(scenario), "db", "register", "--db-url", db_url)
    assert (reg["devices_registered"], reg["reservoirs_created"]) == (7, 7)
    again = cli("--scenario", str(scenario), "db", "register", "--db-url", db_url)
    assert (again["devices_registered"], again["devices_already_present"]) == (0, 7)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        kinds = dict(
            conn.execute(
                select(devices.c.device_id, reservoirs.c.kind).select_from(devices.join(reservoirs))
            ).all()
        )
    engine.dispose()
    assert kinds["TRUCK-1"] == "TRUCK_TANK" and kinds["TANK-01"] == "STATIONARY"


def test_import_dry_run_apply_and_replay(db_url, scenario, tmp_path):
    prepared(db_url, scenario)
    summary = exported(scenario, tmp_path / "out")
    artifact, rows = summary["artifact_dir"], summary["row_count"]
    dry = cli("import-csv", "--artifact-dir", artifact, "--db-url", db_url)
    assert dry["apply"] is False and dry["status_counts"] == {"dry_run:READY": rows}
    assert count(db_url) == 0 and not (Path(artifact) / "import_result.json").exists()
    state = tmp_path / "seq.json"
    done = cli(
        "--state-file",
        str(state),
        "import-csv",
        "--artifact-dir",
        artifact,
        "--apply",
        "--commit-batch-size",
        "700",
        "--db-url",
        db_url,
    )
    assert done["status_counts"] == {"stored:NEW": rows} and "message" not in done
    assert count(db_url) == rows == count(db_url, distinct=True)
    assert json.loads((Path(artifact) / "import_result.json").read_text()) == done
    last = json.loads(state.read_text())["devices"]
    manifest = json.loads((Path(artifact) / "manifest.json").read_text())
    assert last == {d: info["last_seq"] for d, info in manifest["devices"].items()}
    replay = cli(
        "--state-file",
        str(state),
        "import-csv",
        "--artifact-dir",
        artifact,
        "--apply",
        "--db-url",
        db_url,
    )
    assert replay["status_counts"] == {"duplicate:SEQ_ALREADY_STORED": rows}
    assert replay["message"] == "nothing new stored: every row was already in the database"
    assert count(db_url) == rows


def payload_from_row(row: dict) -> dict:
    """The section 10 payload of one exported row, written out by hand from the contract:
    the oracle the codec's bytes are held to."""
    raw = [
        row[k] for k in sorted((k for k in row if k.startswith("raw_")), key=lambda k: int(k[4:]))
    ]
    payload: dict = {
        "schema_version": int(row["schema_version"]),
        "local_timestamp_ms": int(row["local_timestamp_ms"]),
        "seq": int(row["seq"]),
        "sensors": {
            "ultrasonic": {
                "raw_readings": [int(v) for v in raw if v is not None and v != ""],
                "temperature_c": float(row["temperature_c"]),
            }
        },
        "power": {"battery_percentage": float(row["battery_percentage"])},
        "signal_strength_dbm": int(row["signal_strength_dbm"]),
    }
    if row.get("mode") == "MOBILE":
        payload["location"] = {
            "latitude": float(row["latitude"]),
            "longitude": float(row["longitude"]),
            "speed_kmh": float(row["speed_kmh"]),
        }
    return payload


def test_stored_rows_follow_the_contract(db_url, scenario, tmp_path):
    """Distance = median raw reading; level and liters through the reservoir calibration;
    the payload is the device's message, for every row (stationary and mobile)."""
    prepared(db_url, scenario)
    artifact = exported(scenario, tmp_path / "out")["artifact_dir"]
    cli("import-csv", "--artifact-dir", artifact, "--apply", "--db-url", db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        got = conn.execute(
            select(
                telemetry.c.mqtt_client_id,
                telemetry.c.seq,
                telemetry.c.payload,
                telemetry.c.distance_mm,
                telemetry.c.level_pct,
                telemetry.c.liters,
                reservoirs.c.capacity_liters,
                reservoirs.c.height_mm,
            ).select_from(
                telemetry.join(reservoirs, telemetry.c.reservoir_id == reservoirs.c.reservoir_id)
            )
        ).all()
    engine.dispose()
    with (Path(artifact) / "telemetry_rows.csv").open(newline="") as fh:
        sent = {(r["device_id"], int(r["seq"])): payload_from_row(r) for r in csv.DictReader(fh)}
    assert len(got) == len(sent) and any("location" in p for p in sent.values())
    for client, seq, payload_text, distance, level, liters, capacity, height in got:
        payload = json.loads(payload_text)
        assert payload == sent[(client, seq)]
        assert ": " not in payload_text and ", " not in payload_text  # compact, as published
        raw = sorted(payload["sensors"]["ultrasonic"]["raw_readings"])
        assert distance == pytest.approx(raw[len(raw) // 2], abs=0.05)
        assert level == pytest.approx(
            min(100, max(0, (height - distance) / height * 100)), abs=0.01
        )
        assert liters == pytest.approx(
            capacity * level / 100, abs=capacity * 0.00005 + 0.06
        )  # level 0.01 % steps + liters 0.1 L steps
        assert {
            "schema_version",
            "local_timestamp_ms",
            "seq",
            "sensors",
            "power",
            "signal_strength_dbm",
        } <= set(payload)


def test_rejections_name_their_reason(db_url, scenario):
    prepared(db_url, scenario)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            update(devices).where(devices.c.device_id == "TANK-01").values(reservoir_id=None)
        )
        rid = conn.execute(
            select(devices.c.reservoir_id).where(devices.c.device_id == "TANK-02")
        ).scalar_one()
        conn.execute(
            update(reservoirs).where(reservoirs.c.reservoir_id == rid).values(deleted_at=func.now())
        )
    payload = {
        "schema_version": 1,
        "local_timestamp_ms": 1,
        "seq": 3,
        "power": {"battery_percentage": 90.0},
        "signal_strength_dbm": -70,
        "sensors": {"ultrasonic": {"raw_readings": [500, 501], "temperature_c": 20.0}},
    }
    ingestor = Ingestor(engine)
    for client, expected in [
        ("NOBODY", "rejected:UNKNOWN_DEVICE"),
        ("TANK-01", "rejected:DEVICE_NOT_ATTACHED"),
        ("TANK-02", "rejected:RESERVOIR_DELETED"),
        ("TANK-03", "stored:NEW"),
    ]:
        assert ingestor.ingest(TelemetryRows.from_payload(client, payload, 1_770_000_000)) == {
            expected: 1
        }
    empty = dict(payload, sensors={"ultrasonic": {"raw_readings": [], "temperature_c": 20.0}})
    assert ingestor.ingest(TelemetryRows.from_payload("TANK-04", empty, 1_770_000_000)) == {
        "rejected:NO_READINGS": 1
    }
    assert ingestor.ingest(TelemetryRows.from_payload("TANK-03", payload, 1_770_000_500)) == {
        "duplicate:SEQ_ALREADY_STORED": 1
    }
    with pytest.raises(ValueError, match="BAD_PAYLOAD"):
        TelemetryRows.from_payload("TANK-03", {"seq": 1}, 0)
    engine.dispose()


def _reading(client: str, seq: int) -> TelemetryRows:
    payload = {
        "schema_version": 1,
        "local_timestamp_ms": 1,
        "seq": seq,
        "power": {"battery_percentage": 90.0},
        "signal_strength_dbm": -70,
        "sensors": {"ultrasonic": {"raw_readings": [500, 501], "temperature_c": 20.0}},
    }
    return TelemetryRows.from_payload(client, payload, 1_770_000_000 + seq)


def test_a_repeat_within_one_batch_is_stored_once(db_url, scenario):
    prepared(db_url, scenario)
    engine = create_engine(db_url)
    batch = TelemetryRows.concat(
        [
            _reading("TANK-03", 1),
            _reading("TANK-04", 1),
            _reading("TANK-03", 1),
            _reading("TANK-03", 2),
        ]
    )
    assert Ingestor(engine).ingest(batch) == {"stored:NEW": 3, "duplicate:SEQ_ALREADY_STORED": 1}
    with engine.connect() as conn:
        got = conn.execute(
            select(telemetry.c.mqtt_client_id, telemetry.c.seq).order_by(telemetry.c.id)
        ).all()
    engine.dispose()
    assert [tuple(r) for r in got] == [("TANK-03", 1), ("TANK-04", 1), ("TANK-03", 2)]


class _MissesConcurrentWriters(PostgresStore):
    """A key lookup that never sees what another writer stored: the race it guards against."""

    @staticmethod
    def _already_stored(cur, acc):
        import numpy as np

        return np.zeros(acc.n, bool)


def test_postgres_falls_back_when_a_concurrent_writer_stored_a_key_first(scenario):
    name = f"sk_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    db_url = f"postgresql+psycopg://root@127.0.0.1:5432/{name}"
    try:
        prepared(db_url, scenario)
        engine = create_engine(db_url)
        Ingestor(engine).ingest(_reading("TANK-03", 2))  # stored by "another writer"
        racing = Ingestor(engine)
        racing.store_type = _MissesConcurrentWriters
        batch = TelemetryRows.concat(
            [_reading("TANK-03", 1), _reading("TANK-03", 2), _reading("TANK-03", 3)]
        )
        assert racing.ingest(batch) == {"stored:NEW": 2, "duplicate:SEQ_ALREADY_STORED": 1}
        with engine.connect() as conn:
            seqs = conn.execute(select(telemetry.c.seq).order_by(telemetry.c.seq)).scalars().all()
        engine.dispose()
        assert seqs == [1, 2, 3]
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


def _break(db_url: str, change: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        rid = conn.execute(
            select(devices.c.reservoir_id).where(devices.c.device_id == "TANK-01")
        ).scalar_one()
        where = reservoirs.c.reservoir_id == rid
        if change == "device_exists":
            conn.execute(delete(devices).where(devices.c.device_id == "TANK-01"))
        elif change == "device_attached":
            conn.execute(
                update(devices).where(devices.c.device_id == "TANK-01").values(reservoir_id=None)
            )
        elif change == "reservoir_not_deleted":
            conn.execute(update(reservoirs).where(where).values(deleted_at=func.now()))
        elif change == "capacity_positive":
            conn.execute(update(reservoirs).where(where).values(capacity_liters=0))
        elif change == "calibration_usable":
            conn.execute(update(reservoirs).where(where).values(height_mm=None))
        elif change == "mobile_capable":
            truck = conn.execute(
                select(devices.c.reservoir_id).where(devices.c.device_id == "TRUCK-1")
            ).scalar_one()
            conn.execute(
                update(reservoirs)
                .where(reservoirs.c.reservoir_id == truck)
                .values(kind="STATIONARY")
            )
        elif change == "db_unique":
            conn.execute(text("DROP TABLE telemetry"))
            conn.execute(
                text(
                    "CREATE TABLE telemetry (id INTEGER PRIMARY KEY, mqtt_client_id VARCHAR(128), "
                    "seq BIGINT, received_at TIMESTAMP, reservoir_id VARCHAR(36), distance_mm FLOAT, "
                    "level_pct FLOAT, liters FLOAT, payload TEXT)"
                )
            )  # every column, no constraint
    engine.dispose()


@pytest.mark.parametrize(
    "check",
    [
        "device_exists",
        "device_attached",
        "reservoir_not_deleted",
        "capacity_positive",
        "calibration_usable",
        "mobile_capable",
        "db_unique",
    ],
)
def test_each_preflight_check_catches_its_problem(db_url, scenario, check, tmp_path):
    prepared(db_url, scenario)
    ok = cli("--scenario", str(scenario), "--strict", "validate", "--db-url", db_url)
    assert ok["errors"] == [] and ok["warnings"] == []
    _break(db_url, check)
    strict = run_cli(["--scenario", str(scenario), "--strict", "validate", "--db-url", db_url])
    assert strict.exit_code == 2 and strict.stdout == ""
    assert "(--strict), 1 error:" in strict.stderr and f"\n  {check}: " in strict.stderr, (
        strict.stderr
    )  # one per line
    lax = run_cli(["--scenario", str(scenario), "validate", "--db-url", db_url])
    assert lax.exit_code == 3  # not --strict: reported, and not called a success
    assert [e.split(":")[0] for e in json.loads(lax.stdout)["errors"]] == [check]
    # --strict bootstrap stops before writing anything (not even the state file)
    state = tmp_path / "seq.json"
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(state),
            "--strict",
            "bootstrap",
            "--db-url",
            db_url,
        ]
    )
    assert res.exit_code == 2 and not state.exists()


def test_a_missing_schema_and_a_pinned_reservoir(db_url, scenario, tmp_path):
    res = run_cli(["--scenario", str(scenario), "--strict", "validate", "--db-url", db_url])
    # SQLite: no file yet (none is created); PostgreSQL: an empty database
    missing = (
        "no database at"
        if db_url.startswith("sqlite")
        else "db_schema: the database lacks table(s)"
    )
    assert res.exit_code == 2 and missing in res.stderr
    assert "synthkit db init" in res.stderr
    prepared(db_url, scenario)
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(
        SCENARIO.replace(
            "{device_id: truck-1,",
            "{device_id: truck-1, reservoir_id: 11111111-2222-3333-4444-555555555555,",
        )
    )
    res = run_cli(["--scenario", str(pinned), "--strict", "validate", "--db-url", db_url])
    assert res.exit_code == 2 and "reservoir_pin: 1 device(s): TRUCK-1: attached to" in res.stderr


def test_import_refuses_a_changed_csv_before_touching_the_database(scenario, tmp_path):
    artifact = Path(exported(scenario, tmp_path / "out")["artifact_dir"])
    csv_path = artifact / "telemetry_rows.csv"
    csv_path.write_text(csv_path.read_text().replace(",0,", ",1,", 1))
    # an unreachable database: the hash check must fail first, without connecting
    res = run_cli(
        [
            "import-csv",
            "--artifact-dir",
            str(artifact),
            "--apply",
            "--db-url",
            "postgresql+psycopg://root:hunter2@127.0.0.1:9/x",
        ]
    )
    assert res.exit_code == 2
    assert "import-csv failed with manifest csv_sha256 mismatch" in res.stderr
    assert "regenerate the export" in res.stderr and "hunter2" not in res.stderr


def test_passwords_are_never_printed(tmp_path):
    res = run_cli(["db", "init", "--db-url", "postgresql+psycopg://root:s3cret@127.0.0.1:9/x"])
    assert (
        res.exit_code == 2 and "root:***@127.0.0.1:9/x" in res.stderr and "s3cret" not in res.stderr
    )


@pytest.mark.slow
def test_killed_mid_import_then_rerun_stores_exactly_the_csv(db_url, tmp_path):
    """SIGKILL at an arbitrary moment, then the same command again: every CSV row is stored
    once; none twice, none lost. Small commits keep the import slow enough to interrupt."""
    scenario = tmp_path / "fleet.yaml"
    scenario.write_text(SCENARIO.replace("count: 6", "count: 40"))
    prepared(db_url, scenario)
    summary = exported(scenario, tmp_path / "out")
    rows = summary["row_count"]
    args = [
        str(BIN / "synthkit"),
        "import-csv",
        "--artifact-dir",
        summary["artifact_dir"],
        "--apply",
        "--commit-batch-size",
        "7",
        "--db-url",
        db_url,
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while count(db_url) < rows // 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    landed = count(db_url)
    assert 0 < landed < rows, "the kill should land mid-import"
    # each transaction holds exactly --commit-batch-size rows but the last one of the import
    # (rows % 7 of them); PostgreSQL's two writers may commit that short last block before an
    # earlier block is done, so what landed is whole transactions of either size
    assert landed % 7 in (0, rows % 7), "each transaction holds exactly --commit-batch-size rows"
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["status_counts"] == {
        "stored:NEW": rows - landed,
        "duplicate:SEQ_ALREADY_STORED": landed,
    }
    assert count(db_url) == rows == count(db_url, distinct=True)


def test_bootstrap_ingests_the_window_and_reserves_seqs(db_url, scenario, tmp_path):
    prepared(db_url, scenario)
    state = tmp_path / "seq.json"
    first = cli(
        "--scenario",
        str(scenario),
        "--state-file",
        str(state),
        "--strict",
        "bootstrap",
        "--commit-batch-size",
        "1000",
        "--db-url",
        db_url,
    )
    per_device = 2 * 86_400 // 300 + 1
    assert first["total_emitted"] == 7 * per_device
    assert first["status_counts"] == {"stored:NEW": 7 * per_device}
    assert json.loads(state.read_text())["devices"]["TANK-01"] == per_device - 1
    second = cli(
        "--scenario", str(scenario), "--state-file", str(state), "bootstrap", "--db-url", db_url
    )
    assert second["status_counts"] == {"stored:NEW": 7 * per_device}  # new seqs, nothing reused
    assert count(db_url) == 14 * per_device == count(db_url, distinct=True)
    assert sys.executable  # the CLI ran in-process: no interpreter of its own


def test_the_analytics_consumer_counts_every_row_once(db_url, scenario, tmp_path):
    from synthkit_reservoir.database.analytics import drain
    from synthkit_reservoir.database.schema import reservoir_daily

    prepared(db_url, scenario)
    artifact = exported(scenario, tmp_path / "out")["artifact_dir"]
    out = cli(
        "import-csv",
        "--artifact-dir",
        artifact,
        "--apply",
        "--drain-analytics",
        "--analytics-batch-size",
        "300",
        "--db-url",
        db_url,
    )
    rows = out["row_count"]
    assert out["analytics"]["analytics_rows_processed"] == rows
    engine = create_engine(db_url)
    assert drain(engine, 300) == {
        "analytics_rows_processed": 0,
        "analytics_batches": 0,
    }  # cursor kept
    with engine.connect() as conn:
        daily = conn.execute(select(reservoir_daily)).all()
        per_day = conn.execute(
            select(
                telemetry.c.reservoir_id,
                func.min(telemetry.c.level_pct),
                func.max(telemetry.c.level_pct),
                func.count(),
            ).group_by(telemetry.c.reservoir_id, func.date(telemetry.c.received_at))
        ).all()
    engine.dispose()
    assert sum(d.samples for d in daily) == rows and len(daily) == len(per_day)
    assert sorted(
        (round(d.level_min, 2), round(d.level_max, 2), d.samples) for d in daily
    ) == sorted((round(lo, 2), round(hi, 2), n) for _, lo, hi, n in per_day)


@pytest.mark.parametrize("batch", [7, 200, 100_000])
def test_the_read_model_holds_the_aggregates_of_every_stored_row_whatever_the_batch(
    db_url, scenario, tmp_path, batch
):
    """Issue 15: the drain became set-based SQL (one INSERT ... SELECT ... GROUP BY ... ON
    CONFLICT per batch); the read model must still be, per (reservoir, UTC day), exactly the
    rows stored: counted once, the latest reading's liters, across batches and two imports."""
    from datetime import UTC, datetime

    from synthkit_reservoir.database.analytics import drain
    from synthkit_reservoir.database.schema import reservoir_daily

    prepared(db_url, scenario)
    state = tmp_path / "seq.json"
    engine = create_engine(db_url)
    for _ in range(2):  # the second bootstrap's rows merge into days the first one began
        cli(
            "--scenario", str(scenario), "--state-file", str(state), "bootstrap", "--db-url", db_url
        )
        assert (
            drain(engine, batch)["analytics_rows_processed"] == 7 * 577
        )  # 2 days at 5 minutes, 7 devices
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                telemetry.c.id,
                telemetry.c.reservoir_id,
                telemetry.c.received_at,
                telemetry.c.level_pct,
                telemetry.c.liters,
            )
        ).all()
        daily = {(str(d.reservoir_id), d.day): d for d in conn.execute(select(reservoir_daily))}
    engine.dispose()

    def utc(t: datetime) -> datetime:
        return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t

    expected: dict[tuple, list] = {}
    for row in stored:
        expected.setdefault((str(row.reservoir_id), utc(row.received_at).date()), []).append(row)
    assert set(daily) == set(expected)
    for key, rows in expected.items():
        got, latest = daily[key], max(rows, key=lambda r: (utc(r.received_at), r.id))
        levels = [r.level_pct for r in rows]
        assert (got.samples, got.level_min, got.level_max) == (
            len(rows),
            min(levels),
            max(levels),
        ), key
        assert got.level_sum == pytest.approx(sum(levels), rel=1e-12), key
        assert (got.liters_last, utc(got.last_received_at)) == (
            latest.liters,
            utc(latest.received_at),
        ), key


@pytest.mark.parametrize("flag", ["--analytics-batch-size", "--commit-batch-size"])
def test_batch_sizes_below_one_are_refused_before_anything_is_written(tmp_path, scenario, flag):
    """`--analytics-batch-size 0` skipped the drain in silence while `--commit-batch-size 0`
    was refused: both are rows per transaction."""
    url = f"sqlite:///{tmp_path}/b.db"
    prepared(url, scenario)
    state = tmp_path / "seq.json"
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(state),
            "bootstrap",
            "--db-url",
            url,
            "--drain-analytics",
            flag,
            "0",
        ]
    )
    assert res.exit_code == 2 and f"{flag} must be at least 1, got 0" in res.stderr, res.stderr
    assert not state.exists() and count(url) == 0


def test_the_drain_reports_its_own_rate_apart_from_the_rows(tmp_path, scenario):
    url = f"sqlite:///{tmp_path}/b.db"
    prepared(url, scenario)
    out = cli(
        "--scenario",
        str(scenario),
        "--state-file",
        str(tmp_path / "s.json"),
        "bootstrap",
        "--db-url",
        url,
        "--drain-analytics",
    )
    analytics = out["analytics"]
    assert analytics["analytics_rows_processed"] == out["total_emitted"] == 7 * 577
    assert analytics["analytics_seconds"] > 0 and analytics["analytics_rows_per_second"] > 0
    # the rows' own rate leaves the drain out: it is faster than rows over the whole time
    assert out["rows_per_second"] > out["total_emitted"] / out["elapsed_seconds"]


def test_strict_lists_every_preflight_error_on_its_own_line(tmp_path, scenario):
    """--strict joined all preflight errors on one line where validate lists them."""
    url = f"sqlite:///{tmp_path}/p.db"
    prepared(url, scenario)
    _break(url, "capacity_positive")  # TANK-01's reservoir
    _break(url, "mobile_capable")  # the truck's
    strict = run_cli(["--scenario", str(scenario), "--strict", "validate", "--db-url", url])
    lax = json.loads(run_cli(["--scenario", str(scenario), "validate", "--db-url", url]).stdout)
    assert strict.exit_code == 2 and len(lax["errors"]) == 2
    assert "(--strict), 2 errors:" in strict.stderr
    for error in lax["errors"]:
        assert f"\n  {error}" in strict.stderr, strict.stderr


PLACES = """scenario_id: places_t
seed: 9
bootstrap: {days: 3, step_minutes: 5, cluster_places: true}
devices:
  - {group: trucks, count: 3, id_pattern: "PT-{n:02d}", archetype: mobile_high_efficiency, route_id: ring,
     parameter_overrides: {gps_noise_m: 25}}
routes:
  - route_id: ring
    points:
      - {point_id: depot, kind: BASE, latitude: -25.960, longitude: 32.580}
      - {point_id: well, kind: REFILL, latitude: -25.940, longitude: 32.550}
      - {point_id: school, kind: CLIENT, latitude: -25.910, longitude: 32.570}
      - {point_id: clinic, kind: CLIENT, latitude: -25.925, longitude: 32.600}
"""


def test_place_clustering_makes_each_route_point_one_place_holding_its_jittered_visits(
    db_url, tmp_path
):
    """The runbook's bootstrap "optionally drains analytics consumer and runs place clustering":
    the trucks' stops (speed 0, GPS jitter of 25 m here) clustered by density on haversine
    distance, per route."""
    from synthkit_reservoir.database.places import haversine_m
    from synthkit_reservoir.database.schema import places

    scenario = tmp_path / "places.yaml"
    scenario.write_text(PLACES)
    prepared(db_url, scenario)
    out = cli(
        "--scenario",
        str(scenario),
        "--state-file",
        str(tmp_path / "s.json"),
        "bootstrap",
        "--db-url",
        db_url,
    )
    engine = create_engine(db_url)
    with engine.connect() as conn:
        found = conn.execute(select(places).order_by(places.c.place_id)).all()
        stops = 0
        for (payload,) in conn.execute(select(telemetry.c.payload)):
            stops += json.loads(payload)["location"]["speed_kmh"] == 0
    engine.dispose()
    points = {
        "depot": (-25.960, 32.580),
        "well": (-25.940, 32.550),
        "school": (-25.910, 32.570),
        "clinic": (-25.925, 32.600),
    }
    assert sorted(p.point_id for p in found) == sorted(
        points
    )  # one place per route point, no other
    for place in found:
        lat, lon = points[place.point_id]
        assert (
            haversine_m(lat, lon, place.latitude, place.longitude) < 25
        )  # the centroid sits on its point
        assert place.radius_m < 150 and place.visits >= 3 and place.route_id == "ring"
    assert sum(p.visits for p in found) == stops > 0  # every jittered stop landed in a place
    assert out["places"] == {
        **out["places"],
        "routes": 1,
        "places": 4,
        "stops": stops,
        "noise_stops": 0,
    }
    # the flag overrides the scenario: no clustering, the table as it was
    again = cli(
        "--scenario",
        str(scenario),
        "--state-file",
        str(tmp_path / "s.json"),
        "--db-url",
        db_url,
        "bootstrap",
        "--no-cluster-places",
    )
    assert "places" not in again
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(places).order_by(places.c.place_id)).all() == found
    engine.dispose()


def test_density_labels_follow_dbscan():
    """Cores within eps join; a lone stop is noise; a stop near a core joins its place."""
    import numpy as np
    from synthkit_reservoir.database.places import density_labels

    deg = 1 / 111_320  # ~1 m of latitude
    lat = np.array([0, 10, 20, 30, 5000, 5010, 5020, 9000, 75]) * deg
    lon = np.zeros_like(lat)
    labels = density_labels(lat, lon, eps_m=50, min_visits=3)
    assert list(labels[:4]) == [0, 0, 0, 0] and list(labels[4:7]) == [1, 1, 1]
    assert labels[7] == -1  # alone: noise
    assert labels[8] == 0  # a border stop: only one other within 50 m, the core at 30 m


def test_a_received_message_is_stored_as_the_bytes_it_arrived_as(db_url, scenario):
    """Before, the listener parsed each message, then stored the payload re-encoded from its
    values: key order, spacing, number spelling and any extra field of what the device sent
    were lost. The store now holds the bytes received (escaped for PostgreSQL's COPY); rows
    that were never a message (an import) are still written by the codec. A batch decodes at
    once, each bad message rejected with its reason beside the good ones."""
    from synthkit_reservoir.database.intake import Message, SeqTracker, ingest_batch
    from synthkit_reservoir.database.schema import telemetry_rejects

    prepared(db_url, scenario)
    engine = create_engine(db_url)
    sent = [
        b'{"seq": 7, "schema_version": 1, "local_timestamp_ms": 1770000000000,\n'
        b' "power": {"battery_percentage": 88.50}, "signal_strength_dbm": -71,'
        b' "sensors": {"ultrasonic": {"temperature_c": 21.0, "raw_readings": [812, 815]}},'
        b' "firmware": "v2\\t\\"beta\\" \\\\ \\u00e9"}',
        b'{"seq": 8, "schema_version": 1}',  # a value missing: rejected with its reason
        b'{"seq": 9,',  # not JSON
        b'{"schema_version":1,"local_timestamp_ms":1770000001000,"seq":9,"sensors":'
        b'{"ultrasonic":{"raw_readings":[820],"temperature_c":21.1}},"power":'
        b'{"battery_percentage":88.4},"signal_strength_dbm":-70}',
    ]
    batch = [
        Message("t/TANK-05/x", "TANK-05", data, 1_770_000_000 + i) for i, data in enumerate(sent)
    ]
    counts = ingest_batch(Ingestor(engine), batch, SeqTracker())
    assert counts == {"stored:NEW": 2, "rejected:BAD_PAYLOAD": 1, "rejected:BAD_JSON": 1}
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                select(telemetry.c.seq, telemetry.c.payload).where(
                    telemetry.c.mqtt_client_id == "TANK-05"
                )
            ).all()
        )
        rejected = conn.execute(
            select(telemetry_rejects.c.reason, telemetry_rejects.c.payload)
        ).all()
    engine.dispose()
    assert stored == {7: sent[0].decode(), 9: sent[3].decode()}
    assert sorted((r, bytes(p)) for r, p in rejected) == [
        ("BAD_JSON", sent[2]),
        ("BAD_PAYLOAD", sent[1]),
    ]
