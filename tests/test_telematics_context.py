"""Issue 26: telematics anomalies and context from an options file (``--options-file``):
several regions (base points, time zones, driver shares), weather per region and hour that
slows traffic and raises the rates of the event types it names, and congestion by local
hour. Each is a field on every event; a run without the file is byte for byte what it was."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from synthkit.testing import run_cli

WORLD = """\
regions:
  - {name: west, base_lat: 37.77, base_lon: -122.42, utc_offset_hours: -8, share: 0.6}
  - {name: east, base_lat: 40.71, base_lon: -74.01, utc_offset_hours: -5, share: 0.4}
weather:
  rain: {chance: 0.2, speed: 0.85, weights: {hard_braking: 3}}
  snow: {chance: 0.05, speed: 0.6, weights: {hard_braking: 5}}
traffic:
  - {hours: "07:00-09:00", speed: 0.6, name: rush_hour}
  - {hours: "16:00-19:00", speed: 0.6, name: rush_hour}
"""


def generate(tmp_path: Path, name: str, *args: str, events: int = 2000) -> Path:
    out = tmp_path / f"{name}.csv"
    res = run_cli(["telematics", "generate", "--events", str(events), "--out", str(out), *args])
    assert res.exit_code == 0, res.stderr
    return out


def columns(path: Path) -> dict[str, np.ndarray]:
    table = pcsv.read_csv(
        path, convert_options=pcsv.ConvertOptions(column_types={"ts": pa.string()})
    )
    return {name: np.asarray(table.column(name).to_pylist()) for name in table.column_names}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("world")
    options = tmp / "world.yaml"
    options.write_text(WORLD)
    out = generate(tmp, "world", "--drivers", "60", "--options-file", str(options), events=120_000)
    return options, columns(out)


def test_a_run_without_a_world_is_what_it_was_and_an_empty_file_changes_nothing(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    plain = generate(tmp_path, "plain").read_bytes()
    assert generate(tmp_path, "empty", "--options-file", str(empty)).read_bytes() == plain
    assert b"weather" not in plain.split(b"\n", 1)[0]


def test_the_same_world_and_seed_give_the_same_bytes(world, tmp_path):
    options, _ = world
    first = generate(tmp_path, "a", "--options-file", str(options)).read_bytes()
    assert generate(tmp_path, "b", "--options-file", str(options)).read_bytes() == first
    # a world of its own is a run of its own: no event id is shared with the plain run
    ids = {line.split(b",", 1)[0] for line in first.splitlines()[1:]}
    plain = generate(tmp_path, "plain").read_bytes().splitlines()[1:]
    assert not ids & {line.split(b",", 1)[0] for line in plain}


def test_drivers_live_in_their_regions_and_drive_on_their_local_time(world):
    _, c = world
    drivers = {r: set(c["driver_id"][c["region"] == r]) for r in ("west", "east")}
    assert not drivers["west"] & drivers["east"]
    assert 0.45 < len(drivers["west"]) / 60 < 0.75
    for region, lat, offset in (("west", 37.77, -8), ("east", 40.71, -5)):
        mine = c["region"] == region
        assert abs(np.median(c["latitude"][mine]) - lat) < 0.5
        # late-night events are late at night where the driver lives (local 00:00-03:59)
        night = mine & (c["event_type"] == "late_night_driving")
        utc_hours = np.array([int(ts[11:13]) for ts in c["ts"][night]])
        assert len(utc_hours) and ((utc_hours + offset) % 24 < 4).all()


def test_weather_is_one_per_region_and_hour_and_raises_the_rates_it_names(world):
    _, c = world
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for region, ts, weather in zip(c["region"], c["ts"], c["weather"]):
        seen[(region, ts[:13])].add(weather)
    assert max(map(len, seen.values())) == 1  # a region's drivers share the hour's weather
    hours = [next(iter(w)) for w in seen.values()]
    assert 0.12 < hours.count("rain") / len(hours) < 0.28
    braking = {
        w: np.mean(c["event_type"][c["weather"] == w] == "hard_braking")
        for w in ("clear", "rain", "snow")
    }
    assert braking["rain"] > 1.5 * braking["clear"] and braking["snow"] > braking["rain"]


def test_congestion_slows_the_hours_it_names(world):
    _, c = world
    rush, free = c["traffic"] == "rush_hour", c["traffic"] == "free"
    assert rush.any() and free.any()
    clear = c["weather"] == "clear"
    ratio = c["speed_mph"][rush & clear].mean() / c["speed_mph"][free & clear].mean()
    assert 0.5 < ratio < 0.75


def test_stream_and_publish_take_the_same_options_file(world):
    options, _ = world
    res = run_cli(
        [
            "telematics",
            "stream",
            "--interval",
            "0",
            "--max-events",
            "5",
            "--options-file",
            str(options),
        ]
    )
    assert res.exit_code == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(events) == 5 and all(e["weather"] in ("clear", "rain", "snow") for e in events)
    assert {e["region"] for e in events} <= {"west", "east"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("weather:\n  rain: {chance: 2}\n", "world.yaml:2"),
        ("regionz: []\n", "regionz"),
        ("weather:\n  rain: {chance: 0.7}\n  fog: {chance: 0.6}\n", "add up to more than 1"),
        ("weather:\n  rain: {chance: 0.1, weights: {hard_brake: 2}}\n", "hard_brake"),
        ("traffic:\n  - {hours: '07:30-09:00', speed: 0.5}\n", "whole local hours"),
        (
            "traffic:\n  - {hours: '07:00-09:00', speed: 0.5}\n  - {hours: '08:00-10:00', speed: 0.5}\n",
            "same hour",
        ),
    ],
)
def test_a_bad_options_file_is_one_located_answer(tmp_path, text, expected):
    path = tmp_path / "world.yaml"
    path.write_text(text)
    res = run_cli(
        ["telematics", "generate", "--out", str(tmp_path / "x.csv"), "--options-file", str(path)]
    )
    assert res.exit_code == 2, res.stdout
    assert expected in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "x.csv").exists()
