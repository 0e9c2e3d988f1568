"""The seed's schema, and data a telematics engineer would believe."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from synthkit_telematics.config import TelematicsConfig
from synthkit_telematics.generator import TelematicsGenerator

from synthkit.encode import Encoder
from synthkit.plugins import build_plugins

EVENT_TYPES = {
    "hard_braking",
    "aggressive_turn",
    "speeding",
    "tailgating",
    "late_night_driving",
    "ping",
}
TYPE_FIELDS = {
    "hard_braking": {"braking_g", "abs_activation"},
    "aggressive_turn": {"lateral_g", "turn_direction"},
    "speeding": {"posted_speed_mph", "over_speed_mph", "duration_sec"},
    "tailgating": {"following_distance_m", "speed_context_mph"},
    "late_night_driving": {"local_hour"},
    "ping": set(),
}
BASE = {
    "event_id",
    "driver_id",
    "seq",
    "trip_id",
    "ts",
    "event_type",
    "latitude",
    "longitude",
    "speed_mph",
    "heading_deg",
    "period_minute",
    "car_type",
    "car_value",
    "car_sportiness",
}


@pytest.fixture(scope="module")
def event_types():
    return build_plugins().event_types()


def generate(event_types, events: int, **config) -> list[dict]:
    gen = TelematicsGenerator(TelematicsConfig(**config), event_types)
    enc = Encoder("jsonl", threads=1)
    text = b"".join(enc.encode_bytes(b) for b in gen.batches(events, batch_rows=7_000))
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def rows(event_types):
    return generate(event_types, 60_000, drivers=12, seed=5)


def by_driver(rows):
    out = defaultdict(list)
    for r in rows:
        out[r["driver_id"]].append(r)
    return out


def parse_ts(ts: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ts), ts
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_schema_fields_and_types(rows):
    ids = set()
    for r in rows:
        assert BASE <= set(r) and set(r) - BASE == TYPE_FIELDS[r["event_type"]]
        assert re.fullmatch(r"[0-9a-f]{32}", r["event_id"]) and r["event_id"][12] == "4"
        ids.add(r["event_id"])
        assert re.fullmatch(r"D\d{4}", r["driver_id"])
        assert re.fullmatch(r"T-[0-9a-f]{16}", r["trip_id"])
        assert parse_ts(r["ts"]).tzinfo == UTC
        assert r["event_type"] in EVENT_TYPES
        assert 0 <= r["heading_deg"] <= 359 and isinstance(r["heading_deg"], int)
        assert abs(r["latitude"] - 37.7749) < 1.0 and abs(r["longitude"] + 122.4194) < 1.0
        assert 0 <= r["speed_mph"] < 130 and isinstance(r["period_minute"], int)
        assert r["car_type"] in {"economy", "sedan", "suv", "luxury", "sports", "super"}
        assert 0 <= r["car_sportiness"] <= 1 and r["car_value"] > 10_000
    assert len(ids) == len(rows)
    assert {r["event_type"] for r in rows} == EVENT_TYPES
    for events in by_driver(rows).values():  # each driver's events numbered 0, 1, 2...
        assert [r["seq"] for r in events] == list(range(len(events)))


def test_seq_counts_on_from_where_a_state_left_each_driver(event_types):
    """The same events, numbered from each driver's first seq (a state file's next), and
    none at all for the drop-in's schema."""
    config = TelematicsConfig(drivers=3, seed=5)
    plain = list(TelematicsGenerator(config, event_types).batches(30))
    later = list(TelematicsGenerator(config, event_types, first_seq=[7, 0, 100]).batches(30))
    bare = list(TelematicsGenerator(config, event_types, seq=False).batches(30))
    assert "seq" not in bare[0].names
    for a, b, c in zip(plain, later, bare):
        drivers = a.column("driver_id").values
        shift = np.array([7, 0, 100])[drivers]
        assert (b.column("seq").values == a.column("seq").values + shift).all()
        same = [n for n in a.names if n != "seq"]
        assert c.names == tuple(same)
        for name in same:
            assert a.column(name).python_values() == b.column(name).python_values()


def test_type_specific_ranges(rows):
    for r in rows:
        t = r["event_type"]
        if t == "hard_braking":
            assert 0.25 <= r["braking_g"] <= 0.9 and isinstance(r["abs_activation"], bool)
        elif t == "aggressive_turn":
            assert 0.3 <= r["lateral_g"] <= 1.1 and r["turn_direction"] in ("left", "right")
        elif t == "tailgating":
            assert 4.0 <= r["following_distance_m"] <= 15.0 and r["speed_context_mph"] >= 20
        elif t == "speeding":
            assert 10 <= r["duration_sec"] <= 240


def test_static_car_attributes_per_driver(rows):
    for events in by_driver(rows).values():
        assert len({(e["car_type"], e["car_value"], e["car_sportiness"]) for e in events}) == 1


def test_timestamps_increase_per_driver_and_period_minute_matches(rows):
    start = datetime(2026, 1, 5, tzinfo=UTC)
    for events in by_driver(rows).values():
        times = [parse_ts(e["ts"]) for e in events]
        assert all(a < b for a, b in zip(times, times[1:]))
        for e, t in zip(events, times):
            assert e["period_minute"] == int((t - start) / timedelta(minutes=1))


def test_events_are_grouped_into_trips(rows):
    owner = {}
    for driver, events in by_driver(rows).items():
        seen_done = set()
        current = None
        for e in events:
            owner.setdefault(e["trip_id"], driver)
            assert owner[e["trip_id"]] == driver  # a trip belongs to one driver
            if e["trip_id"] != current:
                assert e["trip_id"] not in seen_done  # and its events are contiguous
                if current:
                    seen_done.add(current)
                current = e["trip_id"]
    trips = defaultdict(list)
    for r in rows:
        trips[r["trip_id"]].append(r)
    lengths = [len(v) for v in trips.values()]
    assert 15 < np.median(lengths) < 45  # ~28-minute trips, one event per driving minute


def test_speed_and_heading_are_continuous_within_a_trip(rows):
    jumps, turns = [], []
    for events in by_driver(rows).values():
        for a, b in zip(events, events[1:]):
            if a["trip_id"] == b["trip_id"]:
                gap = (parse_ts(b["ts"]) - parse_ts(a["ts"])) / timedelta(minutes=1)
                assert 0 < gap < 2  # consecutive driving minutes
                jumps.append(abs(b["speed_mph"] - a["speed_mph"]))
                d = abs(b["heading_deg"] - a["heading_deg"]) % 360
                turns.append(min(d, 360 - d))
    # ramps up from and down to a stop change speed most: 40 mph in a minute is ~0.03 g
    assert max(jumps) < 45 and np.percentile(jumps, 90) < 12
    assert np.percentile(turns, 90) < 45
    # and between trips speed restarts from low
    firsts = [t[0]["speed_mph"] for t in _trips(rows).values()]
    assert np.median(firsts) < 30


def _trips(rows):
    trips = defaultdict(list)
    for r in rows:
        trips[r["trip_id"]].append(r)
    return trips


def test_speeding_only_above_the_limit(rows):
    speeding = [r for r in rows if r["event_type"] == "speeding"]
    assert len(speeding) > 200
    for r in speeding:
        assert r["speed_mph"] >= r["posted_speed_mph"] + 5
        assert r["over_speed_mph"] == pytest.approx(
            r["speed_mph"] - r["posted_speed_mph"], abs=0.051
        )
        assert r["posted_speed_mph"] in (25, 35, 45, 55, 65, 70)


def test_late_night_only_at_local_night(rows):
    night = [r for r in rows if r["event_type"] == "late_night_driving"]
    assert night
    for r in night:
        local = parse_ts(r["ts"]) - timedelta(hours=8)  # default --utc-offset -8
        assert r["local_hour"] == local.hour and 0 <= local.hour <= 3


def test_events_only_while_moving(rows):
    for r in rows:
        if r["event_type"] in ("hard_braking", "aggressive_turn", "tailgating"):
            assert r["speed_mph"] >= 8


def test_weights_are_tunable(event_types):
    rows = generate(event_types, 20_000, weights={"ping": 0.0, "tailgating": 3.0})
    counts = defaultdict(int)
    for r in rows:
        counts[r["event_type"]] += 1
    assert counts["ping"] == 0 and counts["tailgating"] > 0.4 * len(rows)


def test_extreme_variance_profiles_scale_rates_and_intensities(event_types):
    rows = generate(event_types, 200_000, drivers=40, extreme_variance=True, seed=11)
    profile = {r["driver_id"]: r["driver_profile"] for r in rows}
    assert set(profile.values()) >= {"safe", "moderate", "risky"}
    rate, braking = defaultdict(list), defaultdict(list)
    for r in rows:
        p = r["driver_profile"]
        rate[p].append(r["event_type"] != "ping")
        if r["event_type"] == "hard_braking":
            braking[p].append(r["braking_g"])
    assert np.mean(rate["risky"]) > np.mean(rate["moderate"]) > np.mean(rate["safe"])
    assert np.mean(braking["risky"]) > np.mean(braking["moderate"]) > np.mean(braking["safe"])


def test_a_driver_data_does_not_depend_on_the_others(event_types):
    """A driver's measurements are its own; identifiers are the run's (issue 23, item 10)."""

    def measured(events: list[dict]) -> list[dict]:
        return [{k: v for k, v in e.items() if k not in ("event_id", "trip_id")} for e in events]

    small = by_driver(generate(event_types, 5 * 3000, drivers=5, seed=3))
    large = by_driver(generate(event_types, 12 * 3000, drivers=12, seed=3))
    for driver, events in small.items():
        assert measured(events) == measured(large[driver][: len(events)])
        assert not {e["event_id"] for e in events} & {e["event_id"] for e in large[driver]}


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 4},
        {"drivers": 20},
        {"start": datetime(2026, 3, 1, tzinfo=UTC)},
        {"base_lat": 10.0},
        {"extreme_variance": True},
        {"weights": {"ping": 2.0}},
        {"utc_offset_hours": 1.0},
        {"trip_avg_minutes": 40.0},
    ],
)
def test_runs_that_differ_in_any_input_share_no_identifier(event_types, change):
    base = {"drivers": 10, "seed": 3}
    first = generate(event_types, 1000, **base)
    assert [e["event_id"] for e in first] == [
        e["event_id"] for e in generate(event_types, 1000, **base)
    ]
    other = generate(event_types, 1000, **{**base, **change})
    assert not {e["event_id"] for e in first} & {e["event_id"] for e in other}
    assert not {e["trip_id"] for e in first} & {e["trip_id"] for e in other}


def test_batch_size_does_not_change_the_bytes(event_types):
    cfg = TelematicsConfig(drivers=7, seed=9)
    out = []
    for rows_per_batch in (1_000, 4_096, 65_536):
        gen = TelematicsGenerator(cfg, event_types)
        enc = Encoder("csv", threads=2)
        out.append(b"".join(enc.encode_bytes(b) for b in gen.batches(30_000, rows_per_batch)))
    assert out[0] == out[1] == out[2]


def test_base_point_and_offset_are_configurable(event_types):
    rows = generate(event_types, 2_000, base_lat=-33.86, base_lon=151.21, utc_offset_hours=10)
    assert all(abs(r["latitude"] + 33.86) < 1 and abs(r["longitude"] - 151.21) < 1 for r in rows)
    for r in rows:
        if r["event_type"] == "late_night_driving":
            assert r["local_hour"] == (parse_ts(r["ts"]) + timedelta(hours=10)).hour


def test_fleets_larger_than_a_batch_are_sliced_without_changing_data(event_types):
    cfg = TelematicsConfig(drivers=2_500, seed=4)
    out = []
    for rows_per_batch in (700, 65_536):
        gen = TelematicsGenerator(cfg, event_types)
        batches = list(gen.batches(9_000, rows_per_batch))
        assert max(b.n for b in batches) <= max(rows_per_batch, 2_500)
        enc = Encoder("jsonl", threads=1)
        out.append(b"".join(enc.encode_bytes(b) for b in batches))
        assert sum(gen.counts.values()) == 9_000
    assert out[0] == out[1]


def test_two_live_streams_share_no_identifier_and_a_simulated_one_repeats():
    from synthkit.testing import run_cli

    def ids(*extra: str) -> list[str]:
        res = run_cli(["telematics", "stream", "--interval", "0", "--max-events", "50", *extra])
        assert res.exit_code == 0, res.stderr
        return [json.loads(line)["event_id"] for line in res.stdout.splitlines()]

    assert not set(ids()) & set(ids())  # every --stream run started with the same id
    # the same inputs: a stream's --start defaults to now, to the second, so it is given
    same = ("--clock", "simulated", "--start", "2026-03-01T00:00:00Z")
    assert ids(*same) == ids(*same)
