"""Issue 23, items 1-4: a bad cell anywhere in an export refuses the whole import (dry run and
--apply alike) before its first write, naming the line and the column; the rule is the one
the live listener applies to a message; only a whole unique index on (mqtt_client_id, seq)
counts as the dedupe guard."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from synthkit.testing import run_cli
from tests.conftest import BIN
from tests.test_ingestion_db import SCENARIO, cli, count, exported, prepared
from tests.test_safety_writes import _drop_unique


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    """One export (stationary tanks and a truck), copied by each test before it edits it."""
    root = tmp_path_factory.mktemp("cells")
    scenario = root / "ingest_t.yaml"
    scenario.write_text(SCENARIO)
    return Path(exported(scenario, root / "out")["artifact_dir"])


def _edited(artifact: Path, into: Path, column: str, value: str) -> tuple[Path, int]:
    """A copy of the export with ``column`` of a late truck row set to ``value``, the manifest
    re-signed (as an operator who edits the file would); returns (dir, 1-based line)."""
    copy = into / "artifact"
    shutil.copytree(artifact, copy)
    csv_path = copy / "telemetry_rows.csv"
    lines = csv_path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    line = max(i for i, text_ in enumerate(lines) if text_.startswith("TRUCK-1,")) - 3
    while not lines[line].startswith("TRUCK-1,"):
        line -= 1
    cells = lines[line].rstrip("\n").split(",")
    cells[header.index(column)] = value
    lines[line] = ",".join(cells) + "\n"
    csv_path.write_text("".join(lines))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["csv_sha256"] = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    manifest["csv_bytes"] = csv_path.stat().st_size
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy, line + 1


BAD_CELLS = [
    ("received_at", "garbage"),
    ("received_at", "2026-02-30T00:00:00Z"),
    ("received_at", ""),
    ("received_at", "2026-02-12T10:00:00Zjunk"),
    ("temperature_c", "1e400"),
    ("temperature_c", "NaN"),
    ("temperature_c", ""),
    ("battery_percentage", "inf"),
    ("latitude", "-inf"),
    ("longitude", "1.8e19"),
    ("latitude", "91"),
    ("speed_kmh", "inf"),
    ("device_id", ""),
    ("local_timestamp_ms", ""),
    ("local_timestamp_ms", "-5"),
    ("raw_1", "-1"),
    ("raw_1", "9999999999999"),
    ("seq", ""),
    ("seq", "nan"),
    ("seq", "-3"),
    ("seq", "12x"),
    ("signal_strength_dbm", ""),
    ("schema_version", "7"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("column", "value"), BAD_CELLS)
def test_a_bad_cell_refuses_the_whole_import_and_names_its_line(artifact, tmp_path, column, value):
    url = f"sqlite:///{tmp_path}/synthkit.db"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    prepared(url, scenario)
    edited, line = _edited(artifact, tmp_path, column, value)
    where = f"telemetry_rows.csv:{line}: column {column}"
    # the dry run as an operator runs it (a real process: a crash is a crash, not a test error)
    dry = subprocess.run(
        [str(BIN / "synthkit"), "import-csv", "--artifact-dir", str(edited), "--db-url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dry.returncode == 2, (dry.returncode, dry.stderr)
    assert where in dry.stderr and "Traceback" not in dry.stderr, dry.stderr
    assert "READY" not in dry.stdout
    state = tmp_path / "seq.json"
    res = run_cli(
        [
            "--state-file",
            str(state),
            "import-csv",
            "--artifact-dir",
            str(edited),
            "--apply",
            "--commit-batch-size",
            "7",
            "--db-url",
            url,
        ]
    )
    assert res.exit_code == 2 and where in res.stderr, res.stderr
    assert count(url) == 0 and not state.exists() and not (edited / "import_result.json").exists()


def test_a_bad_cell_changes_nothing_on_postgresql(artifact, tmp_path, pg_database):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    prepared(pg_database, scenario)
    edited, line = _edited(artifact, tmp_path, "temperature_c", "1e400")
    res = run_cli(
        [
            "--state-file",
            str(tmp_path / "seq.json"),
            "import-csv",
            "--artifact-dir",
            str(edited),
            "--apply",
            "--db-url",
            pg_database,
        ]
    )
    assert (
        res.exit_code == 2 and f"telemetry_rows.csv:{line}: column temperature_c" in res.stderr
    ), res.stderr
    assert count(pg_database) == 0


def test_cells_that_are_absent_by_design_still_import(artifact, tmp_path):
    """A stationary row has no location and a device may send fewer readings: both import."""
    url = f"sqlite:///{tmp_path}/synthkit.db"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    prepared(url, scenario)
    edited, _ = _edited(artifact, tmp_path, "raw_5", "")
    done = cli(
        "--state-file",
        str(tmp_path / "seq.json"),
        "import-csv",
        "--artifact-dir",
        str(edited),
        "--apply",
        "--db-url",
        url,
    )
    rows = sum(1 for _ in (edited / "telemetry_rows.csv").open()) - 1
    assert done["status_counts"] == {"stored:NEW": rows} and count(url) == rows


def test_the_listener_rejects_what_import_refuses():
    """One rule: the values import-csv refuses are the ones a live message is rejected for."""
    from synthkit_reservoir.database.ingest import TelemetryRows

    good = {
        "schema_version": 1,
        "local_timestamp_ms": 1770717599850,
        "seq": 3,
        "sensors": {"ultrasonic": {"raw_readings": [628, 622], "temperature_c": 25.7}},
        "power": {"battery_percentage": 95.0},
        "signal_strength_dbm": -86,
        "location": {"latitude": -25.9, "longitude": 32.5, "speed_kmh": 10.0},
    }
    TelemetryRows.from_payload("TRUCK-1", good, 0)
    for path, value in (
        (("seq",), -3),
        (("local_timestamp_ms",), -5),
        (("sensors", "ultrasonic", "raw_readings"), [-1]),
        (("sensors", "ultrasonic", "raw_readings"), [9999999999999]),
        (("power", "battery_percentage"), 1e300),
        (("location", "latitude"), 91.0),
        (("schema_version",), 1 << 40),
    ):
        payload = json.loads(json.dumps(good))
        node = payload
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(ValueError, match="BAD_PAYLOAD"):
            TelemetryRows.from_payload("TRUCK-1", payload, 0)


# ------------------------------------------------ 4: only a whole unique index is a dedupe guard


def test_a_partial_unique_index_is_not_a_dedupe_guard(db_url, artifact, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    prepared(db_url, scenario)
    _drop_unique(db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("CREATE UNIQUE INDEX uq_partial ON telemetry (seq, mqtt_client_id) WHERE seq < 0")
        )
    engine.dispose()
    for n in (1, 2):
        res = run_cli(
            [
                "--state-file",
                str(tmp_path / f"seq{n}.json"),
                "import-csv",
                "--artifact-dir",
                str(artifact),
                "--apply",
                "--db-url",
                db_url,
            ]
        )
        assert res.exit_code == 2, res.stderr
        assert "no unique constraint on (mqtt_client_id, seq)" in res.stderr
    assert count(db_url) == 0
