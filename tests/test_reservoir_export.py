"""The reservoir engine through its commands: export-csv and dry-run, for real, in-process."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from synthkit.plugins import build_plugins
from synthkit.testing import run_cli
from tests.conftest import ROOT

END = "2026-02-12T10:00:00Z"
END_S = int(datetime(2026, 2, 12, 10, tzinfo=UTC).timestamp())


@pytest.fixture(scope="module")
def plugins():
    return build_plugins()


def scenario(
    tmp_path: Path, body: str, days: int = 2, step_minutes: int = 5, name: str = "s"
) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"scenario_id: {name}\nseed: 7\nbootstrap:\n  days: {days}\n"
        f"  step_minutes: {step_minutes}\n{body}"
    )
    return path


def export(plugins, path: Path, root: Path, run_id: str = "r", state: Path | None = None) -> dict:
    args = ["--scenario", str(path)]
    if state is not None:
        args += ["--state-file", str(state)]
    res = run_cli(
        [
            *args,
            "--strict",
            "export-csv",
            "--run-id",
            run_id,
            "--end-at",
            END,
            "--output-root",
            str(root),
        ],
        plugins,
    )
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def rows(summary: dict) -> list[dict[str, str]]:
    with open(summary["csv"], newline="") as fh:
        return list(csv.DictReader(fh))


TANKS = """devices:
  - device_id: tank-a
    archetype: stationary_archetype_a
  - device_id: tank-c
    archetype: stationary_archetype_c
    cadence_seconds: 600
"""
TRUCK = """  - device_id: truck-1
    archetype: mobile_high_efficiency
    route_id: loop
routes:
  - route_id: loop
    points:
      - {point_id: depot, kind: BASE, latitude: -25.96, longitude: 32.58}
      - {point_id: well, kind: REFILL, latitude: -25.94, longitude: 32.55}
      - {point_id: school, kind: CLIENT, latitude: -25.91, longitude: 32.57}
      - {point_id: clinic, kind: CLIENT, latitude: -25.93, longitude: 32.60}
"""


def test_same_inputs_same_bytes(tmp_path, plugins):
    path = scenario(tmp_path, TANKS + TRUCK)
    first = export(plugins, path, tmp_path / "out", "one")
    second = export(plugins, path, tmp_path / "out", "two")
    assert Path(first["csv"]).read_bytes() == Path(second["csv"]).read_bytes()
    assert first["csv_sha256"] == second["csv_sha256"]


def test_a_device_does_not_depend_on_the_others(tmp_path, plugins):
    """Adding or removing devices never changes another device's rows."""
    alone = scenario(
        tmp_path,
        "devices:\n  - device_id: tank-c\n    archetype: stationary_archetype_c\n"
        "    cadence_seconds: 600\n",
        name="alone",
    )
    together = scenario(tmp_path, TANKS + TRUCK, name="together")
    a = [r for r in rows(export(plugins, alone, tmp_path / "o1")) if r["device_id"] == "TANK-C"]
    b = [r for r in rows(export(plugins, together, tmp_path / "o2")) if r["device_id"] == "TANK-C"]
    assert a == b and len(a) > 0


def test_window_step_rows_and_order(tmp_path, plugins):
    """Section 5: step = max(cadence, step_minutes*60); floor(days*86400/step)+1 rows each;
    rows in time order; seq 0.. per device; the window ends at --end-at."""
    path = scenario(tmp_path, TANKS, days=2, step_minutes=10)
    summary = export(plugins, path, tmp_path / "out")
    data = rows(summary)
    per_device = defaultdict(list)
    for r in data:
        per_device[r["device_id"]].append(r)
    step = 600  # both devices: max(300, 600) and max(600, 600)
    for device_rows in per_device.values():
        assert len(device_rows) == 2 * 86_400 // step + 1
        assert [int(r["seq"]) for r in device_rows] == list(range(len(device_rows)))
        assert device_rows[-1]["received_at"] == END
    times = [r["received_at"] for r in data]
    assert times == sorted(times)
    manifest = json.loads(Path(summary["manifest"]).read_text())
    assert manifest["total_rows"] == len(data) == summary["row_count"]
    assert sum(d["rows"] for d in manifest["devices"].values()) == len(data)
    assert manifest["csv_sha256"] == hashlib.sha256(Path(summary["csv"]).read_bytes()).hexdigest()
    assert manifest["window"] == {"start_at": "2026-02-10T10:00:00Z", "end_at": END}
    assert manifest["seed"] == 7 and manifest["scenario_id"] == "s"
    assert manifest["versions"]["synthkit"] and len(manifest["versions"]) >= 1


def test_seq_continues_from_the_state_file(tmp_path, plugins):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"version": 1, "devices": {"TANK-A": 41}}))
    path = scenario(tmp_path, TANKS)
    data = rows(export(plugins, path, tmp_path / "out", state=state))
    first = {r["device_id"]: int(r["seq"]) for r in reversed(data)}
    assert first == {"TANK-A": 42, "TANK-C": 0}
    assert json.loads(state.read_text())["devices"] == {"TANK-A": 41}  # export reserves nothing


def test_demand_follows_the_section_7_1_formula(tmp_path, plugins):
    """No supply, no noise, a tank that never runs dry: each step's outflow is exactly
    base_lph * weights_norm[hour] * weekday_multipliers[dow] * cadence/3600."""
    weights = [1.0 + (h % 5) for h in range(24)]
    weekday = [1.0, 1.1, 1.2, 1.3, 1.4, 0.5, 0.6]
    body = f"""devices:
  - device_id: t1
    archetype: stationary_archetype_a
    cadence_seconds: 900
    dynamics:
      demand:
        target_daily_liters: 960
        hourly_weights: {weights}
        weekday_multipliers: {weekday}
    parameter_overrides:
      supply_events_per_day: 0
      demand_noise: 0
      capacity_liters: 1000000
      initial_level_pct: 100
"""
    data = rows(
        export(plugins, scenario(tmp_path, body, days=3, step_minutes=15), tmp_path / "out")
    )
    norm = [w * 24 / sum(weights) for w in weights]
    for r in data:
        t = datetime.fromisoformat(r["received_at"].replace("Z", "+00:00"))
        expected = 960 / 24 * norm[t.hour] * weekday[t.weekday()] * 900 / 3600
        assert float(r["outflow_liters"]) == pytest.approx(expected, abs=0.051), r["received_at"]
        assert float(r["inflow_liters"]) == 0.0


def test_levels_stay_physical_and_match_the_calibration(tmp_path, plugins):
    body = (
        TANKS
        + """  - device_id: tank-cal
    archetype: stationary_archetype_c
    parameter_overrides: {sensor_empty_distance_mm: 1900, sensor_full_distance_mm: 250}
"""
        + TRUCK
    )
    data = rows(export(plugins, scenario(tmp_path, body, days=10), tmp_path / "out"))
    caps = {
        "TANK-A": (8000, 2200, 0),
        "TANK-C": (3000, 1600, 0),
        "TANK-CAL": (3000, 1900, 250),
        "TRUCK-1": (10000, 1500, 0),
    }
    for r in data:
        cap, empty, full = caps[r["device_id"]]
        liters, level = float(r["liters"]), float(r["level_pct"])
        assert 0 <= liters <= cap and 0 <= level <= 100
        assert level == pytest.approx(liters / cap * 100, abs=0.01)
        exact_level = liters / cap * 100  # liters has 0.1 L resolution; level_pct only 0.01 %
        assert float(r["distance_mm"]) == pytest.approx(
            empty - (empty - full) * exact_level / 100, abs=0.1
        )
        raw = [int(r[f"raw_{i}"]) for i in range(1, 6)]
        assert all(abs(x - float(r["distance_mm"])) < 120 for x in raw)  # noise, not nonsense
        assert (
            1 <= float(r["battery_percentage"]) <= 100
            and -130 <= int(r["signal_strength_dbm"]) <= -30
        )
        if r["mode"] == "MOBILE":
            assert -26.1 < float(r["latitude"]) < -25.8 and 32.4 < float(r["longitude"]) < 32.7
        else:
            assert r["latitude"] == r["longitude"] == r["point_id"] == ""


def test_archetype_contrast(tmp_path, plugins):
    """Section 9 over 30 days: C runs low more often and buffers less than A; the efficient
    truck delivers more per km and loses less in transit."""
    body = """devices:
  - {group: a, count: 25, id_pattern: "A-{n:02d}", archetype: stationary_archetype_a}
  - {group: c, count: 25, id_pattern: "C-{n:02d}", archetype: stationary_archetype_c}
  - {device_id: he, archetype: mobile_high_efficiency, route_id: loop}
  - {device_id: fl, archetype: mobile_fragmented_high_loss, route_id: loop}
""" + TRUCK.split("\n", 3)[3]
    data = rows(export(plugins, scenario(tmp_path, body, days=30), tmp_path / "out"))
    low_days: dict[str, set] = defaultdict(set)
    level_sum: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    km: dict[str, float] = defaultdict(float)
    out: dict[str, float] = defaultdict(float)
    loss: dict[str, float] = defaultdict(float)
    for r in data:
        arch = r["archetype"]
        count[arch] += 1
        level_sum[arch] += float(r["level_pct"])
        if float(r["level_pct"]) < 10:
            low_days[arch].add((r["device_id"], r["received_at"][:10]))
        if r["mode"] == "MOBILE":
            km[arch] += float(r["distance_km"])
            out[arch] += float(r["outflow_liters"])
            loss[arch] += float(r["loss_liters"])
    a, c = "stationary_archetype_a", "stationary_archetype_c"
    assert len(low_days[c]) > 5 * max(1, len(low_days[a]))
    assert level_sum[a] / count[a] > level_sum[c] / count[c] + 10
    he, fl = "mobile_high_efficiency", "mobile_fragmented_high_loss"
    assert out[he] / km[he] > 2 * out[fl] / km[fl]
    assert loss[fl] > 2 * loss[he]


@pytest.mark.parametrize("run_id", ["../x", "/etc", "a/b", ".", "..", "bad name"])
def test_export_refuses_run_ids_that_are_not_plain_names(tmp_path, sh, run_id):
    root = tmp_path / "out"
    res = sh(
        "synthkit",
        "--scenario",
        str(ROOT / "scenarios/stationary_only_v1.yaml"),
        "export-csv",
        "--run-id",
        run_id,
        "--end-at",
        END,
        "--output-root",
        str(root),
    )
    assert res.returncode == 2 and "is not a plain name" in res.stderr and res.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing anywhere, not even the root


def test_export_refuses_an_existing_artifact_directory(tmp_path, plugins):
    path = scenario(tmp_path, TANKS)
    first = export(plugins, path, tmp_path / "out", "jan")
    before = Path(first["csv"]).read_bytes()
    res = run_cli(
        [
            "--scenario",
            str(path),
            "export-csv",
            "--run-id",
            "jan",
            "--end-at",
            END,
            "--output-root",
            str(tmp_path / "out"),
        ],
        plugins,
    )
    assert res.exit_code == 2 and "already exists" in res.stderr
    assert Path(first["csv"]).read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out" / "s").iterdir()) == ["jan"]


def test_dry_run_writes_nothing(tmp_path, sh):
    state = tmp_path / "state" / "seq.json"
    res = sh(
        "synthkit",
        "--scenario",
        str(ROOT / "scenarios/demo_city_v1.yaml"),
        "--state-file",
        str(state),
        "--strict",
        "dry-run",
        "--preview-steps",
        "4",
        "--start-at",
        END,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert list(tmp_path.iterdir()) == []  # no state file, no artifacts, nothing
    out = json.loads(res.stdout)
    assert out["command"] == "dry-run" and len(out["devices"]) == 42
    for device in out["devices"]:
        samples = device["samples"]
        assert [s["seq"] for s in samples] == [0, 1, 2, 3]
        assert device["tendencies"]
        for s in samples:
            payload = s["payload"]
            assert s["raw_samples"] == payload["sensors"]["ultrasonic"]["raw_readings"] != []
            assert set(payload) >= {
                "schema_version",
                "local_timestamp_ms",
                "seq",
                "sensors",
                "power",
                "signal_strength_dbm",
            }
            assert ("location" in payload) == (device["mode"] == "MOBILE")
            received = datetime.fromisoformat(s["received_at"].replace("Z", "+00:00"))
            lag = received.timestamp() * 1000 - payload["local_timestamp_ms"]
            assert 150 <= lag < 1150 and not math.isnan(payload["power"]["battery_percentage"])


def test_supply_follows_the_hourly_and_weekday_multipliers(tmp_path, plugins):
    """Supply only in hours and weekdays whose probability multiplier is > 0, and volumes
    scaled by the hourly volume multiplier."""
    prob = [0.0] * 24
    prob[8], prob[20] = 3.0, 3.0
    volume = [1.0] * 24
    volume[20] = 4.0
    weekday = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]  # no supply at weekends
    body = f"""devices:
  - group: g
    count: 20
    id_pattern: "T-{{n:02d}}"
    archetype: stationary_archetype_a
    dynamics:
      supply:
        hourly_probability_multipliers: {prob}
        hourly_volume_multipliers: {volume}
        weekday_probability_multipliers: {weekday}
    parameter_overrides: {{capacity_liters: 1000000, supply_volume_cv: 0, initial_level_pct: 10}}
"""
    data = rows(export(plugins, scenario(tmp_path, body, days=14), tmp_path / "out"))
    by_hour: dict[int, list[float]] = defaultdict(list)
    for r in data:
        inflow = float(r["inflow_liters"])
        if inflow > 0:
            t = datetime.fromisoformat(r["received_at"].replace("Z", "+00:00"))
            assert t.weekday() < 5, r["received_at"]
            by_hour[t.hour].append(inflow)
    assert set(by_hour) == {8, 20}
    assert len(by_hour[8]) > 20 and len(by_hour[20]) > 20
    # cv 0: every event brings exactly liters_per_event x the hour's volume multiplier
    assert set(by_hour[8]) == {380.0} and set(by_hour[20]) == {1520.0}


def test_trucks_refill_at_refill_points_and_deliver_at_clients(tmp_path, plugins):
    body = """devices:
  - {device_id: he, archetype: mobile_high_efficiency, route_id: loop}
  - {device_id: fl, archetype: mobile_fragmented_high_loss, route_id: loop}
""" + TRUCK.split("\n", 3)[3]
    data = rows(export(plugins, scenario(tmp_path, body, days=7), tmp_path / "out"))
    kinds = {"depot": "BASE", "well": "REFILL", "school": "CLIENT", "clinic": "CLIENT"}
    refills = deliveries = 0
    for r in data:
        if float(r["inflow_liters"]) > 0:
            refills += 1
            assert kinds[r["point_id"]] == "REFILL", r
        if float(r["outflow_liters"]) > 0:
            deliveries += 1
            assert kinds[r["point_id"]] == "CLIENT", r
        if r["point_id"] == "":  # driving: it moves, and loses water only while it does
            assert float(r["speed_kmh"]) > 0
        else:
            assert float(r["speed_kmh"]) == 0.0
    assert refills > 10 and deliveries > 30


def test_csv_reader_batches_are_exact_across_blocks(tmp_path, plugins):
    """import-csv commits exactly --commit-batch-size rows per transaction, however the
    reader's 1 MiB blocks fall, and reads every row back once, in order."""
    from synthkit_reservoir.csvread import read_batches

    body = (
        'devices:\n  - {group: g, count: 12, id_pattern: "T-{n:02d}", archetype: stationary_archetype_c}\n'
        + TRUCK
    )
    summary = export(plugins, scenario(tmp_path, body, days=4), tmp_path / "out")
    assert Path(summary["csv"]).stat().st_size > 2 << 20  # spans several 1 MiB blocks
    batches = list(read_batches(Path(summary["csv"]), 997))
    assert {b.n for b in batches[:-1]} == {997} and 0 < batches[-1].n <= 997
    got = []
    for b in batches:
        dev = b.column("device_id")
        got += [
            (dev.labels[c], s) for c, s in zip(dev.values.tolist(), b.column("seq").values.tolist())
        ]
    assert got == [(r["device_id"], int(r["seq"])) for r in rows(summary)]
