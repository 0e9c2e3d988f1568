"""`synthkit telematics features`: monthly driver features, checked value by value against
the aggregation written the plain way (a loop over the events, the formulas as the
telematics seed's downstream job states them), from JSON lines, CSV, Parquet and the
endpoint's database, SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import math
import subprocess
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from tests.conftest import BIN
from tests.test_telematics_serve import endpoint, post

ARGS = ("--events", "24000", "--drivers", "12", "--seed", "9", "--extreme-variance",
        "--start", "2026-01-27T00:00:00Z")  # fmt: skip


def synthkit(*args: str) -> dict:
    res = subprocess.run(
        [str(BIN / "synthkit"), *args], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def by_hand(events: list[dict]) -> dict[tuple[str, str], dict[str, float | None]]:
    """The features, one event at a time: what a downstream job's own code computes."""
    acc: dict[tuple[str, str], dict] = defaultdict(lambda: defaultdict(float))
    trips: dict[tuple[str, str], set] = defaultdict(set)
    for e in events:
        key = (e["driver_id"], e["ts"][:7])
        a, kind = acc[key], e["event_type"]
        a["n"] += 1
        a["speed"] += e["speed_mph"]
        a["max_speed"] = max(a.get("max_speed", -math.inf), e["speed_mph"])
        trips[key].add(e["trip_id"])
        a[kind] += 1
        if kind == "hard_braking":
            a["braking_g"] += e["braking_g"]
            a["abs"] += e["abs_activation"]
        elif kind == "speeding":
            a["speeding_sec"] += e["duration_sec"]
            a["over"] += e["over_speed_mph"]
        elif kind == "aggressive_turn":
            a["lateral"] = max(a.get("lateral", -math.inf), e["lateral_g"])
        elif kind == "tailgating":
            a["following"] += e["following_distance_m"]
    out = {}
    for key, a in acc.items():
        miles = a["speed"] / 60

        def per100(x: float, miles: float = miles) -> float | None:
            return 100 * x / miles if miles > 0 else None

        def mean(total: float, count: float) -> float | None:
            return total / count if count else None

        out[key] = {
            "events": a["n"], "trips": len(trips[key]), "driving_minutes": a["n"], "miles": miles,
            "hard_braking_per_100mi": per100(a["hard_braking"]),
            "aggressive_turn_per_100mi": per100(a["aggressive_turn"]),
            "speeding_minutes_per_100mi": per100(a["speeding_sec"] / 60),
            "late_night_per_100mi": per100(a["late_night_driving"]),
            "tailgating_ratio": a["tailgating"] / a["n"],
            "mean_speed_mph": a["speed"] / a["n"], "max_speed_mph": a["max_speed"],
            "mean_braking_g": mean(a["braking_g"], a["hard_braking"]),
            "abs_rate": mean(a["abs"], a["hard_braking"]),
            "mean_over_speed_mph": mean(a["over"], a["speeding"]),
            "max_lateral_g": a["lateral"] if "lateral" in a else None,
            "mean_following_distance_m": mean(a["following"], a["tailgating"]),
        }  # fmt: skip
    return out


def same(got: dict[tuple[str, str], dict], want: dict[tuple[str, str], dict]) -> None:
    assert set(got) == set(want)
    for key, row in want.items():
        for name, value in row.items():
            have = got[key][name]
            if value is None:
                assert have is None, (key, name, have)
            else:
                assert have == pytest.approx(value, rel=1e-9, abs=1e-12), (key, name)


def read_features(path: Path) -> dict[tuple[str, str], dict]:
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
    else:
        rows = [{k: (None if v == "" else float(v)) if k not in ("driver_id", "month") else v
                 for k, v in r.items()} for r in csv.DictReader(path.open())]  # fmt: skip
    return {(r.pop("driver_id"), r.pop("month")): r for r in rows}


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("features")
    for ending in ("jsonl", "csv", "parquet"):
        synthkit("telematics", "generate", *ARGS, "--out", str(tmp / f"events.{ending}"))
    lines = (tmp / "events.jsonl").read_text().splitlines()
    return tmp, [json.loads(x) for x in lines]


@pytest.mark.slow
@pytest.mark.parametrize("ending", ["jsonl", "csv", "parquet"])
def test_every_feature_of_every_driver_month_is_the_plain_computation(events, ending, tmp_path):
    tmp, rows = events
    want = by_hand(rows)
    assert len({m for _, m in want}) >= 2  # the events span months
    out = tmp_path / f"features_{ending}.parquet"
    summary = synthkit("telematics", "features", "--from", str(tmp / f"events.{ending}"),
                       "--out", str(out))  # fmt: skip
    assert summary["events"] == len(rows) and summary["rows"] == len(want)
    same(read_features(out), want)
    again = tmp_path / "again.csv"
    synthkit("telematics", "features", "--from", str(tmp / f"events.{ending}"), "--out", str(again))
    same(read_features(again), want)


@pytest.mark.slow
def test_features_from_the_endpoints_database_into_it(events, db_url, tmp_path):
    tmp, rows = events
    with endpoint(db_url, tmp_path) as ep:
        answer = post(ep["ingest"], (tmp / "events.jsonl").read_bytes())[1]
        assert answer["stored"] == len(rows)
    summary = synthkit("--db-url", db_url, "telematics", "features", "--out", db_url)
    assert summary["events"] == len(rows)
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        table = [
            dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM telematics_driver_month"))
        ]
    engine.dispose()
    same({(r.pop("driver_id"), r.pop("month")): r for r in table}, by_hand(rows))
    again = synthkit("--db-url", db_url, "telematics", "features", "--out", db_url)
    assert again["rows"] == summary["rows"]  # the months computed replace what was there


@pytest.mark.slow
def test_a_file_that_holds_no_events_is_one_clear_answer(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    res = subprocess.run([str(BIN / "synthkit"), "telematics", "features", "--from", str(bad),
                          "--out", str(tmp_path / "f.csv")], capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 2 and "not telematics events" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "f.csv").exists()
