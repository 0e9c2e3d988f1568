"""Issue 11, items 2, 3, 4, 9 and 11: commands that write hold the state file for their whole
run, refuse a schema that cannot dedupe, check a whole file before the first write, spend no
seq and leave no file when refused, and never report success for a run that did not do what
it was asked."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, text
from synthkit_reservoir.database.schema import devices

from synthkit.state import SeqState
from synthkit.testing import run_cli
from tests.conftest import BIN
from tests.live import own_prefix, topic_block
from tests.test_ingestion_db import END, SCENARIO, cli, count, exported, prepared

HOLDER = rf"held by another synthkit process \(pid {os.getpid()} on {socket.gethostname()}"


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "ingest_t.yaml"
    path.write_text(SCENARIO)
    return path


def _resign(artifact: Path) -> None:
    """What an operator who edits the CSV and updates the manifest would do."""
    manifest = json.loads((artifact / "manifest.json").read_text())
    manifest["csv_sha256"] = hashlib.sha256(
        (artifact / "telemetry_rows.csv").read_bytes()
    ).hexdigest()
    (artifact / "manifest.json").write_text(json.dumps(manifest))


# ----------------------------------------------------------------- 2: one holder per state file


@pytest.mark.slow
def test_a_second_run_on_the_same_state_file_fails_fast_and_the_first_finishes(tmp_path):
    path = tmp_path / "live.yaml"
    path.write_text(
        "scenario_id: live_lock\nspeedup_factor: 600\ndevices:\n"
        "  - {group: t, count: 5, id_pattern: 'LOCK-{n}', archetype: stationary_archetype_a, cadence_seconds: 60}\n"
        + topic_block(own_prefix("lock"))
    )
    state = tmp_path / "seq.json"
    base = [
        str(BIN / "synthkit"),
        "--scenario",
        str(path),
        "--state-file",
        str(state),
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        "1883",
    ]
    first = subprocess.Popen(
        base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )  # until stopped
    deadline = time.time() + 30
    while time.time() < deadline and not state.exists():  # the first has started publishing
        time.sleep(0.05)
    second = subprocess.run(
        [*base, "--iterations", "20"], capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 2, second.stderr
    assert first.poll() is None  # refused at once, not after the first one ended
    assert (
        f"pid {first.pid} on {socket.gethostname()}" in second.stderr
        and "Traceback" not in second.stderr
    )
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    summary = json.loads(out)
    assert summary["broker_acknowledged_all"] and summary["emitted"] > 0
    last = json.loads(state.read_text())["devices"]
    assert sum(v + 1 for v in last.values()) >= summary["emitted"]  # every published seq reserved


def test_bootstrap_export_and_import_refuse_a_held_state_file(db_url, scenario, tmp_path):
    prepared(db_url, scenario)
    artifact = Path(exported(scenario, tmp_path / "out")["artifact_dir"])
    state = tmp_path / "seq.json"
    with SeqState.held(state):
        res = run_cli(
            [
                "--scenario",
                str(scenario),
                "--state-file",
                str(state),
                "bootstrap",
                "--db-url",
                db_url,
            ]
        )
        assert res.exit_code == 2 and re.search(HOLDER, res.stderr), res.stderr
        res = run_cli(
            [
                "--state-file",
                str(state),
                "import-csv",
                "--artifact-dir",
                str(artifact),
                "--apply",
                "--db-url",
                db_url,
            ]
        )
        assert res.exit_code == 2 and str(os.getpid()) in res.stderr
        res = run_cli(
            [
                "--scenario",
                str(scenario),
                "--state-file",
                str(state),
                "export-csv",
                "--run-id",
                "r2",
                "--end-at",
                END,
                "--output-root",
                str(tmp_path / "out"),
            ]
        )
        assert res.exit_code == 2 and str(os.getpid()) in res.stderr
    assert count(db_url) == 0  # nothing stored, and nothing half-recorded
    assert not (artifact / "import_result.json").exists() and not state.exists()
    assert not (tmp_path / "out" / "ingest_t" / "r2").exists()


# ----------------------------------------------------- 3: a schema that cannot dedupe is refused


def _drop_unique(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE telemetry DROP CONSTRAINT uq_telemetry_client_seq"))
        else:  # SQLite cannot drop a constraint: rebuild the table without it
            ddl = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'telemetry'")
            ).scalar_one()
            conn.execute(text("ALTER TABLE telemetry RENAME TO telemetry_old"))
            conn.execute(
                text(re.sub(r",\s*CONSTRAINT uq_telemetry_client_seq UNIQUE \([^)]*\)", "", ddl))
            )
            conn.execute(text("DROP TABLE telemetry_old"))
    engine.dispose()


@pytest.mark.services
def test_every_writer_refuses_a_telemetry_table_without_the_unique_constraint(
    db_url, scenario, tmp_path
):
    prepared(db_url, scenario)
    _drop_unique(db_url)
    artifact = exported(scenario, tmp_path / "out")["artifact_dir"]
    state = tmp_path / "seq.json"
    for args in (
        ["import-csv", "--artifact-dir", artifact, "--apply"],
        ["--scenario", str(scenario), "bootstrap"],
        ["ingest", "listen", "--duration-seconds", "1"],
    ):
        res = run_cli(["--state-file", str(state), *args, "--db-url", db_url])
        assert res.exit_code == 2, (args, res.stderr)
        assert (
            "no unique constraint on (mqtt_client_id, seq)" in res.stderr
            and "nothing was written" in res.stderr
        )
    assert count(db_url) == 0 and not state.exists()


def test_a_dropped_column_is_found_by_validate_and_refused_by_import(db_url, scenario, tmp_path):
    prepared(db_url, scenario)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE telemetry DROP COLUMN liters"))
    engine.dispose()
    res = run_cli(["--scenario", str(scenario), "validate", "--db-url", db_url])
    assert res.exit_code == 3, res.stderr
    report = json.loads(res.stdout)
    assert any("telemetry lacks column(s) liters" in e for e in report["errors"])
    assert report["devices_validated"] == []
    res = run_cli(["--scenario", str(scenario), "--strict", "validate", "--db-url", db_url])
    assert res.exit_code == 2 and "lacks column(s) liters" in res.stderr
    artifact = exported(scenario, tmp_path / "out")["artifact_dir"]
    res = run_cli(
        [
            "--state-file",
            str(tmp_path / "s.json"),
            "import-csv",
            "--artifact-dir",
            artifact,
            "--apply",
            "--db-url",
            db_url,
        ]
    )
    assert (
        res.exit_code == 2
        and "lacks column(s) liters" in res.stderr
        and "internal error" not in res.stderr
    )


# ------------------------------------------------ 4: the whole file is checked before any write


def test_a_bad_row_late_in_the_file_stops_the_import_before_any_write(db_url, scenario, tmp_path):
    prepared(db_url, scenario)
    artifact = Path(exported(scenario, tmp_path / "out")["artifact_dir"])
    csv_path = artifact / "telemetry_rows.csv"
    lines = csv_path.read_text().splitlines(keepends=True)
    bad_at = len(lines) - 3  # 1-based line number of the damaged row
    fields = lines[bad_at - 1].split(",")
    fields[1] = "12x"  # seq
    lines[bad_at - 1] = ",".join(fields)
    csv_path.write_text("".join(lines))
    _resign(artifact)
    state = tmp_path / "seq.json"
    res = run_cli(
        [
            "--state-file",
            str(state),
            "import-csv",
            "--artifact-dir",
            str(artifact),
            "--apply",
            "--commit-batch-size",
            "7",
            "--db-url",
            db_url,
        ]
    )
    assert res.exit_code == 2, res.stderr
    assert f"telemetry_rows.csv:{bad_at}: column seq: '12x' is not a whole number" in res.stderr
    assert (
        count(db_url) == 0 and not state.exists() and not (artifact / "import_result.json").exists()
    )


def test_a_csv_with_a_byte_order_mark_imports_and_analyzes_alike(db_url, scenario, tmp_path):
    prepared(db_url, scenario)
    summary = exported(scenario, tmp_path / "out")
    artifact = Path(summary["artifact_dir"])
    csv_path = artifact / "telemetry_rows.csv"
    csv_path.write_bytes(b"\xef\xbb\xbf" + csv_path.read_bytes())
    _resign(artifact)
    analysis = cli("analyze-csv", "--artifact-dir", str(artifact))
    assert analysis["qc_passed"] is True
    done = cli(
        "--state-file",
        str(tmp_path / "s.json"),
        "import-csv",
        "--artifact-dir",
        str(artifact),
        "--apply",
        "--db-url",
        db_url,
    )
    assert done["status_counts"] == {"stored:NEW": summary["row_count"]}


# ----------------------------------------- 9: refused commands spend nothing and create nothing


def test_bootstrap_against_an_empty_database_spends_no_seq_and_leaves_no_file(scenario, tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a database file with no schema
    before = sorted(p.name for p in tmp_path.iterdir())
    res = run_cli(["--scenario", str(scenario), "bootstrap", "--db-url", f"sqlite:///{empty}"])
    assert res.exit_code == 2 and "lacks table(s)" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .tmp/, no state file
    res = run_cli(
        ["--scenario", str(scenario), "--strict", "bootstrap", "--db-url", f"sqlite:///{empty}"]
    )
    assert res.exit_code == 2 and sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "args",
    [
        ["import-csv", "--artifact-dir", "{artifact}", "--apply"],
        ["--scenario", "{scenario}", "bootstrap"],
        ["ingest", "listen", "--duration-seconds", "1"],
        ["--scenario", "{scenario}", "validate", "--db-url", "sqlite:///typo.db"],
        ["--scenario", "{scenario}", "db", "register"],
    ],
)
def test_no_empty_database_file_is_created_by_a_command_that_needs_one(args, scenario, tmp_path):
    artifact = Path(exported(scenario, tmp_path / "out")["artifact_dir"])
    work = tmp_path / "work"
    work.mkdir()
    os.chdir(work)  # the default database and state file are relative to here
    res = run_cli([a.format(artifact=artifact, scenario=scenario) for a in args])
    assert res.exit_code == 2, res.stderr
    assert "no database at" in res.stderr and "synthkit db init" in res.stderr
    assert list(work.iterdir()) == []
    res = run_cli(["--scenario", str(scenario), "--strict", "validate"])
    assert res.exit_code == 0, res.stderr  # no stray database for the template check to trip on


# --------------------------------------------------- 11: no success reported for a failed run


def test_non_strict_bootstrap_with_an_unregistered_device_says_so_and_exits_3(
    db_url, scenario, tmp_path
):
    prepared(db_url, scenario)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(delete(devices).where(devices.c.device_id == "TANK-01"))
    engine.dispose()
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(tmp_path / "s.json"),
            "bootstrap",
            "--db-url",
            db_url,
        ]
    )
    assert res.exit_code == 3, res.stderr
    summary = json.loads(res.stdout)
    assert summary["complete"] is False and summary["status_counts"]["rejected:UNKNOWN_DEVICE"] > 0
    assert any("rejected (UNKNOWN_DEVICE" in w for w in summary["warnings"])
    assert any(
        w.startswith("preflight error (not --strict): device_exists") for w in summary["warnings"]
    )
    assert res.stderr.strip().splitlines()[-1].startswith("incomplete:")
    res = run_cli(["--scenario", str(scenario), "validate", "--db-url", db_url])
    assert res.exit_code == 3
    report = json.loads(res.stdout)
    assert "TANK-01" not in report["devices_validated"] and "TANK-02" in report["devices_validated"]


def test_bootstrap_with_a_lost_state_file_stores_nothing_and_says_why(db_url, scenario, tmp_path):
    prepared(db_url, scenario)
    first = cli(
        "--scenario",
        str(scenario),
        "--state-file",
        str(tmp_path / "a.json"),
        "bootstrap",
        "--db-url",
        db_url,
    )
    assert first["complete"] is True and first["warnings"] == []
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(tmp_path / "lost.json"),
            "bootstrap",
            "--db-url",
            db_url,
        ]
    )
    assert res.exit_code == 3
    summary = json.loads(res.stdout)
    assert summary["status_counts"] == {"duplicate:SEQ_ALREADY_STORED": first["total_emitted"]}
    assert any("state file" in w and "behind the database" in w for w in summary["warnings"])


def test_strict_export_runs_the_database_preflight(db_url, scenario, tmp_path, monkeypatch):
    prepared(db_url, scenario)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(delete(devices).where(devices.c.device_id == "TANK-02"))
    engine.dispose()
    monkeypatch.setenv("SYNTHKIT_DB_URL", db_url)
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "--strict",
            "export-csv",
            "--run-id",
            "x",
            "--end-at",
            END,
            "--output-root",
            str(tmp_path / "out"),
        ]
    )
    assert res.exit_code == 2 and "TANK-02" in res.stderr
    assert not (tmp_path / "out").exists()
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "export-csv",
            "--run-id",
            "x",
            "--end-at",
            END,
            "--output-root",
            str(tmp_path / "out"),
        ]
    )
    assert res.exit_code == 0  # not --strict: the export has no database to write
