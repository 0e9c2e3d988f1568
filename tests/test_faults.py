"""Issue 26, first part: a scenario's ``faults:`` block, validated with located errors, applied
first in every run's chain, with ground-truth labels beside the output. Each fault type
changes exactly the records its labels name (against the same run without faults), and the
same faults come out whatever the batch size or device subset."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from synthkit_reservoir.engine import FleetRun, export_window
from synthkit_reservoir.rows import RowBuilder
from synthkit_reservoir.scenario import load_scenario

from synthkit.fault_stage import FaultStage
from synthkit.plugins import build_plugins
from synthkit.run import RunPlan
from synthkit.testing import run_cli

ROUTE_R1 = """\
routes:
  - route_id: r1
    points:
      - {point_id: B, kind: BASE, latitude: -8.8, longitude: 13.2}
      - {point_id: R, kind: REFILL, latitude: -8.81, longitude: 13.25}
      - {point_id: C, kind: CLIENT, latitude: -8.85, longitude: 13.22}
"""
FLEET = """\
scenario_id: faults_t
seed: 11
bootstrap: {days: 1, step_minutes: 5}
devices:
  - {group: north, count: 3, id_pattern: "N-{n:02d}", archetype: stationary_archetype_a}
  - {group: south, count: 3, id_pattern: "S-{n:02d}", archetype: stationary_archetype_c}
  - {device_id: T-01, archetype: mobile_high_efficiency, mode: MOBILE, route_id: r1}
"""
FLEET += ROUTE_R1
END = "2026-01-02T00:00:00Z"
WINDOW = "window: {start: 2026-01-01T06:00:00Z, end: 2026-01-01T18:00:00Z}"

# type -> the entry's other lines (devices, parameters)
CASES = {
    "stuck_at": "devices: [N-01]\n    column: raw_*\n    value: 1234",
    "drift": "devices: {group: south}\n    column: temperature_c\n    per_day: 3",
    "spike": "devices: all\n    column: raw_*\n    rate: 0.2\n    factor: 2",
    "noise_burst": "devices: {archetype: stationary_archetype_a}\n    column: battery_percentage\n    sigma: 2",
    "offset": "devices: {share: 0.5}\n    column: signal_strength_dbm\n    add: -7\n    percent: 10",
    "malformed": "devices: [S-02]\n    column: temperature_c\n    share: 0.5",
    "drop": "devices: {group: north}\n    share: 0.25",
    "dropout": "devices: [S-03]",
    "duplicate": "devices: all\n    every: 7\n    copies: 2",
    "clock_skew": "devices: [S-01, T-01]\n    offset_ms: 5000\n    per_day_ms: 86400",
    "gps_jump": "devices: [T-01]\n    rate: 0.3\n    km: 2",
    "late": "devices: [N-01, S-01]\n    share: 0.5\n    delay: 30m",
    "out_of_order": "devices: all\n    share: 0.2\n    within: 20m",
    "burst": "devices: [N-03]",
    "saturation": "devices: {group: north}\n    column: raw_*\n    ceiling: 400\n    floor: 50",
    "freeze": "devices: [N-02, S-02]\n    column: temperature_c",
    "gps_freeze": "devices: [T-01]",
}
# faults in a tank's physics: they act in their window and the state carries them on
# (tests/test_physics_faults.py); here, the same whatever the batch size or device subset
PHYSICS = {
    "leak": "devices: [N-02]\n    liters_per_hour: 30",
    "stuck_valve": "devices: [S-02]",
    "battery_drain": "devices: [S-01]\n    extra_pct_per_day: 400",
}
DELAYED = ("late", "out_of_order", "burst")


def scenario(tmp_path: Path, faults: str = "") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(FLEET + (f"faults:\n{faults}" if faults else ""))
    return path


def export(tmp_path: Path, path: Path, name: str) -> tuple[list[list[str]], list[dict], Path]:
    out = tmp_path / name
    res = run_cli(
        [
            "--scenario", str(path), "--state-file", str(tmp_path / f"{name}.json"),
            "export-csv", "--output-root", str(out), "--end-at", END,
        ]
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    csv_path = Path(json.loads(res.stdout)["csv"])
    with csv_path.open() as fh:
        rows = list(csv.reader(fh))
    labels_path = csv_path.with_name(csv_path.name + ".labels.jsonl")
    labels = (
        [json.loads(x) for x in labels_path.read_text().splitlines()]
        if labels_path.exists()
        else []
    )
    return rows, labels, csv_path


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clean")
    rows, labels, _ = export(tmp, scenario(tmp), "clean")
    assert labels == []
    return rows


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_fault_changes_exactly_the_records_its_labels_name(tmp_path, clean, kind):
    entry = f"  - type: {kind}\n    {WINDOW}\n    {CASES[kind]}\n"
    rows, labels, csv_path = export(tmp_path, scenario(tmp_path, entry), "faulted")
    assert labels, f"{kind} faulted nothing"
    named = {(x["stream"], x["seq"]) for x in labels}
    assert len(named) == len(labels) and all(x["fault"] == kind for x in labels)
    assert all("2026-01-01T06:00:00Z" <= x["at"] < "2026-01-01T18:00:00Z" for x in labels)
    assert {x["name"] for x in labels} == {f"{kind}-1"}
    head, before, after = clean[0], clean[1:], rows[1:]
    assert rows[0] == head

    def key(row):
        return row[0], int(row[1])

    if kind == "drop" or kind == "dropout":
        assert {key(r) for r in before} - {key(r) for r in after} == named
        assert [r for r in before if key(r) not in named] == after
    elif kind == "duplicate":
        copies = [r for i, r in enumerate(after) if i and key(r) == key(after[i - 1])]
        assert {key(r) for r in copies} == named and len(copies) == 2 * len(named)
        assert [r for i, r in enumerate(after) if not (i and key(r) == key(after[i - 1]))] == before
    elif kind in DELAYED:  # the same records, the labelled ones later, the rest in order
        assert sorted(after) == sorted(before)
        assert [r for r in after if key(r) not in named] == [
            r for r in before if key(r) not in named
        ]
        was = {key(r): i for i, r in enumerate(before)}
        now = {key(r): i for i, r in enumerate(after)}
        assert all(now[k] > was[k] for k in named)
        if kind == "burst":  # the backlog arrives after the records emitted at the window's end
            times = [r[2] for r in after]
            first_late = min(now[k] for k in named)
            assert times[first_late - 1] == "2026-01-01T18:00:00Z"
    else:
        assert len(before) == len(after)
        changed = {key(a) for a, b in zip(after, before) if a != b}
        assert changed == named  # no label without a change, no change without a label
        assert all(key(a) == key(b) for a, b in zip(after, before))
    notes = json.loads(csv_path.with_name(csv_path.name + ".notes.json").read_text())
    assert notes["faults"]["counters"] == {f"faulted:{kind}-1": len(labels)}


def _apply(path: Path, rows_per_block: int, devices=None) -> tuple[list[dict], list[tuple]]:
    """A run's rows through the fault stage, cut into blocks of ``rows_per_block``."""
    from datetime import datetime

    loaded = load_scenario(str(path), build_plugins())
    end_s = int(datetime.fromisoformat(END.replace("Z", "+00:00")).timestamp())
    window, steps = export_window(loaded, end_s)
    chosen = [d for d in loaded.devices if devices is None or d.device_id in devices]
    picked = [steps[loaded.devices.index(d)] for d in chosen]
    fleet = FleetRun(loaded, chosen, picked, window, [0] * len(chosen))
    builder = RowBuilder(fleet)
    stage = FaultStage(loaded.faults, *loaded.faults.columns)
    stage.columns(builder.columns)
    stage.begin(RunPlan("t", window=("2026-01-01T00:00:00Z", END)))
    rows, labels = [], []

    class Collected:  # the Notes interface, keeping the labels in memory to compare
        def add(self, table, found):  # the stage adds its labels as a columnar batch
            if table == "labels":
                labels.extend(found.rows())

        def count(self, *_):
            pass

    for block in fleet.blocks(rows_per_block):
        out = stage.apply(builder.batch(block))
        stage.taken(out, Collected())  # type: ignore[arg-type]
        rows += [tuple(r.values()) for r in out.rows()]
    tail = stage.drain()  # what the faults held to the end
    if tail is not None:
        stage.taken(tail, Collected())  # type: ignore[arg-type]
        rows += [tuple(r.values()) for r in tail.rows()]
    return labels, rows


def test_the_same_faults_whatever_the_batch_size_or_device_subset(tmp_path):
    every = {**CASES, **PHYSICS}
    entries = "".join(f"  - type: {k}\n    {WINDOW}\n    {v}\n" for k, v in every.items())
    path = scenario(tmp_path, entries)
    labels, rows = _apply(path, 65_536)
    small_labels, small_rows = _apply(path, 97)
    assert small_rows == rows and sorted(map(str, small_labels)) == sorted(map(str, labels))
    subset = {"N-02", "S-02"}
    sub_labels, sub_rows = _apply(path, 500, subset)
    assert sub_rows == [r for r in rows if r[0] in subset]
    assert sorted(map(str, sub_labels)) == sorted(
        map(str, (x for x in labels if x["stream"] in subset))
    )
    assert {x["fault"] for x in labels} == set(every)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "  - type: stuck_att\n    column: raw_*\n",
            "faults[0].type: unknown fault type 'stuck_att' (did you mean 'stuck_at'?)",
        ),
        (
            "  - type: drift\n    column: raw_*\n    per_dya: 1\n",
            "faults[0].per_dya: unknown parameter of fault type 'drift' (did you mean 'per_day'?)",
        ),
        ("  - type: drift\n    column: raw_*\n", "faults[0].per_day: required field is missing"),
        (
            "  - type: drop\n    devices: [N-1]\n",
            "faults[0].devices[0]: no device 'N-1' in this scenario (did you mean 'N-01'?)",
        ),
        (
            "  - type: drop\n    devices: {group: nort}\n",
            "faults[0].devices.group[0]: no group 'nort' in this scenario (did you mean 'north'?)",
        ),
        ("  - type: drop\n    window: {daily: '25:00-26:00'}\n", "faults[0].window.daily"),
        (
            "  - type: drop\n    window: {start: 2026-01-02T00:00:00Z, end: 2026-01-01T00:00:00Z}\n",
            "end must be after start",
        ),
        ("  - type: drop\n    window: {after: soon}\n", "'soon' is not a duration"),
        ("  - type: drop\n    share: 2\n", "faults[0].share"),
        (
            "  - type: drop\n    devices: {share: 2}\n",
            "faults[0].devices.share: Input should be less than or equal to 1",
        ),
        ("  type: drop\n", "faults: must be a list of faults"),
    ],
)
def test_a_bad_faults_block_is_one_located_answer(tmp_path, entry, expected):
    res = run_cli(["--scenario", str(scenario(tmp_path, entry)), "validate"])
    assert res.exit_code == 2 and expected in res.stderr, res.stderr
    assert "s.yaml:" in res.stderr and "Traceback" not in res.stderr


def test_a_fault_on_a_column_the_rows_lack_is_refused_before_anything_is_written(tmp_path):
    path = scenario(tmp_path, "  - type: stuck_at\n    column: pressure_*\n")
    res = run_cli(
        ["--scenario", str(path), "--state-file", str(tmp_path / "s.json"), "export-csv",
         "--output-root", str(tmp_path / "out"), "--end-at", END]
    )  # fmt: skip
    assert (
        res.exit_code == 2
        and "fault 'stuck_at-1' (stuck_at): no column matches 'pressure_*'" in res.stderr
    )
    assert not list((tmp_path / "out").rglob("*.csv")) and not (tmp_path / "s.json").exists()


def test_windows_absolute_relative_and_recurring():
    from synthkit.fault_windows import FaultWindow

    day = 86_400
    t = np.arange(0, 3 * day, 3600, dtype=np.int64)  # hourly over three days from the epoch
    daily = FaultWindow.model_validate({"daily": "22:00-02:00"}).hit(t, 0)
    assert [int(x % day // 3600) for x in t[daily.rows]][:4] == [0, 1, 22, 23]
    assert daily.since_s[t == 3600][0] == 3 * 3600  # opened at 22:00 the day before
    rel = FaultWindow.model_validate({"after": "1d", "for": "2h"}).hit(t, 0)
    assert t[rel.rows].tolist() == [day, day + 3600] and rel.since_s[rel.rows].tolist() == [0, 3600]
    every = FaultWindow.model_validate({"every_days": "2", "daily": "00:00-01:00"}).hit(t, 0)
    assert t[every.rows].tolist() == [0, 2 * day]


LOOP_FAULTS = """\
  - type: drop
    devices: [N-01]
    share: 0.3
  - type: duplicate
    devices: all
    every: 5
  - type: stuck_at
    devices: [N-02]
    column: raw_*
    value: 999
    window: {after: 6h, for: 12h}
"""


def _stored(url: str, where: str = "") -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = f"SELECT mqtt_client_id, seq, payload FROM telemetry {where} ORDER BY 1, 2"
            return [tuple(r) for r in conn.execute(text(query))]
    finally:
        engine.dispose()


def test_reconcile_counts_a_faults_drops_and_repeats_as_meant_and_replay_restores_faulted_bytes(
    tmp_path, db_url
):
    from sqlalchemy import create_engine, text

    path = scenario(tmp_path, LOOP_FAULTS)

    def ok(args: list[str], code: int = 0) -> dict:
        res = run_cli(args)
        assert res.exit_code == code, res.stderr
        return json.loads(res.stdout)

    ok(["db", "init", "--db-url", db_url])
    ok(["--scenario", str(path), "db", "register", "--db-url", db_url])
    ok(["--scenario", str(path), "bootstrap", "--db-url", db_url])
    records = _records()
    labels = [json.loads(x) for x in Path(records[0].labels).read_text().splitlines()]
    dropped = {(x["stream"], x["seq"]) for x in labels if x["effect"] == "dropped"}
    repeated = [x for x in labels if x["effect"] == "repeated"]
    stored = _stored(db_url)
    assert dropped and repeated and not dropped & {(c, s) for c, s, _ in stored}
    report = ok(["reconcile", "--db-url", db_url])
    assert report["complete"] and report["missing"] == 0 and report["duplicates"] == 0
    assert report["meant"] == {"dropped": len(dropped), "repeated": len(repeated)}
    assert report["expected"] == len(stored)  # what was meant to arrive, all of it
    stuck = "WHERE mqtt_client_id = 'N-02' AND seq BETWEEN 80 AND 89"
    before = _stored(db_url, stuck)
    assert len(before) == 10 and all('"raw_readings":[999' in str(p) for _, _, p in before)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM telemetry {stuck}"))
    engine.dispose()
    gap = ok(["reconcile", "--db-url", db_url, "--report", str(tmp_path / "r.json")], code=3)
    assert gap["missing_ranges"] == {records[0].run_id: {"N-02": [[80, 89]]}}
    ok(["replay", "--report", str(tmp_path / "r.json"), "--db-url", db_url])
    assert _stored(db_url, stuck) == before  # replayed with the fault, byte for byte
    assert ok(["reconcile", "--db-url", db_url])["complete"]


def _records() -> list:
    from synthkit.context import DEFAULT_STATE_FILE
    from synthkit.runs import RunLog, runs_dir

    return RunLog(runs_dir(DEFAULT_STATE_FILE)).records()


def test_validate_reports_the_scenarios_faults_and_the_template_holds():
    from synthkit.testing import run_cli as cli

    root = Path(__file__).resolve().parents[1]
    res = cli(["--scenario", str(root / "scenarios" / "faults_demo_v1.yaml"), "validate"])
    assert res.exit_code == 0, res.stderr
    faults = {f["name"]: f for f in json.loads(res.stdout)["faults"]}
    assert faults["frozen-sensor"] == {"name": "frozen-sensor", "type": "stuck_at", "devices": 1}
    assert faults["dropout-6"]["devices"] == 1 and faults["duplicate-8"]["devices"] == 20
    assert 1 <= faults["drift-2"]["devices"] <= 9  # a seeded share of the south group's ten


def test_an_imported_faulted_export_reconciles_with_its_drops_and_repeats_meant(tmp_path):
    """import-csv of a faulted export: the rows as exported (no fault applied twice), its run
    record naming the export's labels, so reconcile reads the deliberate gaps as meant."""
    path = scenario(tmp_path, LOOP_FAULTS.replace("window: {after: 6h, for: 12h}", WINDOW))
    rows, labels, csv_path = export(tmp_path, path, "out")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    for args in (["db", "init"], ["--scenario", str(path), "db", "register"]):
        assert run_cli([*args, "--db-url", url]).exit_code == 0
    state = ["--state-file", str(tmp_path / "import.json")]
    res = run_cli(
        [*state, "import-csv", "--artifact-dir", str(csv_path.parent), "--apply", "--db-url", url]
    )
    assert res.exit_code == 0, res.stderr
    stored = _stored(url)
    assert len(stored) == len({(r[0], int(r[1])) for r in rows[1:]})  # the repeats deduped
    report = run_cli([*state, "reconcile", "--db-url", url])
    assert report.exit_code == 0, report.stdout
    meant = json.loads(report.stdout)["meant"]
    assert meant == {
        "dropped": sum(x["effect"] == "dropped" for x in labels),
        "repeated": sum(x["effect"] == "repeated" for x in labels),
    }


def test_gps_jump_moves_a_scaled_coordinate_by_its_km_in_degrees():
    """A telematics-style coordinate (integers scaled by 10**6) jumps ``km`` away, as a plain
    float one does: the fault works in degrees whatever the column holds."""
    from synthkit_faults.device import GpsJump
    from synthkit_faults.params import GpsJumpParams

    from synthkit.batch import Batch, Column
    from synthkit.fault_draws import Draws
    from synthkit.faults import Hit

    n = 200
    lat, lon = np.full(n, -8.8), np.full(n, 13.2)
    jumped = {}
    for scaled in (False, True):
        f = 1e6 if scaled else 1.0
        batch = Batch(
            [
                Column(
                    "latitude", "decimal", np.rint(lat * f) if scaled else lat, 6, scaled=scaled
                ),
                Column(
                    "longitude", "decimal", np.rint(lon * f) if scaled else lon, 6, scaled=scaled
                ),
            ]
        )
        rows = np.ones(n, bool)
        keys = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        out, hit = GpsJump(GpsJumpParams(rate=1.0, km=3.0)).apply(
            batch, Hit(rows, np.zeros(n)), Draws(keys, rows)
        )
        assert hit.all()
        got = [out.column(c).values / f for c in ("latitude", "longitude")]
        jumped[scaled] = got
        dlat = np.radians(got[0] - lat)
        dlon = np.radians(got[1] - lon) * np.cos(np.radians(lat))
        km = 6371.0 * np.hypot(dlat, dlon)
        assert np.allclose(km, 3.0, rtol=0.01)
    assert np.allclose(jumped[False][0], jumped[True][0], atol=1e-6)
