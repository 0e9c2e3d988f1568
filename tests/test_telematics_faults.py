"""Issue 26: faults and anomalies for telematics fleets, from the options file's ``faults:``
block: the generic types (drops, repeats, spikes in a reading...) and ``anomaly_burst``, a
session of reckless driving for chosen drivers that the driver model acts on. Events gain a
``seq`` (each driver's event number) for the labels to name, and every record no label names
is the fault-free run's record."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from synthkit.testing import run_cli

REGIONS = """\
regions:
  - {name: west, base_lat: 37.77, base_lon: -122.42, utc_offset_hours: -8, share: 0.6}
  - {name: east, base_lat: 40.71, base_lon: -74.01, utc_offset_hours: -5, share: 0.4}
"""
FAULTS = """\
faults:
  - type: anomaly_burst
    name: reckless
    devices: {group: west, share: 0.5}
    window: {start: 2026-01-05T00:00:00Z, end: 2026-01-06T00:00:00Z}
    weights: {hard_braking: 6}
  - {type: duplicate, devices: all, every: 40}
  - {type: drop, devices: {group: east}, share: 0.05}
  - {type: spike, devices: [D0001], column: speed_mph, rate: 0.2, factor: 3}
"""


def generate(tmp_path: Path, name: str, text: str, events: int = 20_000) -> tuple[list, list]:
    options = tmp_path / f"{name}.yaml"
    options.write_text(text)
    out = tmp_path / f"{name}.jsonl"
    res = run_cli(
        ["telematics", "generate", "--events", str(events), "--drivers", "30",
         "--options-file", str(options), "--out", str(out)]
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    labels_path = out.with_name(out.name + ".labels.jsonl")
    labels = (
        [json.loads(x) for x in labels_path.read_text().splitlines()]
        if labels_path.exists()
        else []
    )
    return rows, labels


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tfaults")
    return generate(tmp, "plain", REGIONS), generate(tmp, "faulted", REGIONS + FAULTS)


def test_only_the_labelled_records_differ_from_the_fault_free_run(runs):
    (plain, none), (faulted, labels) = runs
    assert none == [] and "seq" in plain[0] and "seq" in faulted[0]
    by_id = {r["event_id"]: r for r in plain}
    labelled = {(x["stream"], x["seq"]) for x in labels}
    changed = {(x["stream"], x["seq"]) for x in labels if x["effect"] == "changed"}
    differ = 0
    for row in map(dict, faulted):
        key = (row["driver_id"], row["seq"])
        if key in labelled:
            differ += row != by_id[row["event_id"]]
        else:
            assert row == by_id[row["event_id"]], key  # untouched by any fault
    assert differ and differ <= len(changed)


def test_drops_and_repeats_are_where_the_labels_say(runs):
    (plain, _), (faulted, labels) = runs
    keys = Counter((r["driver_id"], r["seq"]) for r in faulted)
    # a record's copies: one, plus what a duplicate sent again, less what a drop took
    meant: Counter = Counter()
    for x in labels:
        key = (x["stream"], x["seq"])
        meant[key] += {"repeated": x.get("copies", 0), "dropped": -1}.get(x["effect"], 0)
    assert any(v > 0 for v in meant.values()) and any(v < 0 for v in meant.values())
    planned: Counter = Counter()
    for r in plain:
        planned[r["driver_id"]] += 1
    every = {(d, s) for d, n in planned.items() for s in range(n)}
    assert {k: 1 + meant[k] for k in every if 1 + meant[k]} == dict(keys)


def test_a_burst_raises_the_rates_it_names_inside_its_sessions(runs):
    _, (faulted, labels) = runs
    burst = {(x["stream"], x["seq"]) for x in labels if x["fault"] == "anomaly_burst"}
    inside = [r["event_type"] for r in faulted if (r["driver_id"], r["seq"]) in burst]
    outside = [r["event_type"] for r in faulted if (r["driver_id"], r["seq"]) not in burst]
    share = lambda types: types.count("hard_braking") / len(types)  # noqa: E731
    assert len(inside) > 500 and share(inside) > 1.8 * share(outside)
    streams = {x["stream"] for x in labels if x["fault"] == "anomaly_burst"}
    assert {r["region"] for r in faulted if r["driver_id"] in streams} == {"west"}


def test_the_same_faults_give_the_same_bytes(tmp_path):
    first = generate(tmp_path, "a", REGIONS + FAULTS, events=3000)
    assert generate(tmp_path, "b", REGIONS + FAULTS, events=3000) == first


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  - {type: anomaly_brust, devices: all}\n", "did you mean 'anomaly_burst'"),
        ("  - {type: drop, devices: [D0999]}\n", "no device 'D0999'"),
        ("  - {type: leak, devices: all, liters_per_hour: 3}\n", "applies to reservoir fleets"),
        ("  - {type: anomaly_burst, devices: all, weights: {hard_brake: 2}}\n", "hard_brake"),
        ("  - {type: drop, devices: {group: north}}\n", "no group 'north'"),
    ],
)
def test_a_bad_faults_block_is_one_located_answer(tmp_path, entry, expected):
    options = tmp_path / "o.yaml"
    options.write_text(REGIONS + "faults:\n" + entry)
    out = tmp_path / "x.jsonl"
    res = run_cli(["telematics", "generate", "--options-file", str(options), "--out", str(out)])
    assert res.exit_code == 2, res.stdout
    assert expected in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_a_stream_with_faults_writes_its_labels_beside_the_run_records_or_in_notes_dir(
    tmp_path,
):
    options = tmp_path / "o.yaml"
    options.write_text(REGIONS + "faults:\n  - {type: duplicate, devices: all, every: 2}\n")
    args = ["telematics", "stream", "--interval", "0", "--max-events", "40"]
    for notes, pre in ((tmp_path / "notes", ["--notes-dir", "notes"]), (tmp_path, [])):
        res = run_cli([*pre, *args, "--options-file", str(options)])
        assert res.exit_code == 0, res.stderr
        (labels,) = notes.rglob("telematics-stream-*.labels.jsonl")
        effects = {json.loads(x)["effect"] for x in labels.read_text().splitlines()}
        assert effects == {"repeated"}
        assert sum(json.loads(x)["seq"] % 2 == 0 for x in res.stdout.splitlines()) > 20
        labels.unlink()


def test_the_shipped_world_runs_and_labels_its_burst(tmp_path):
    from tests.conftest import ROOT

    out = tmp_path / "world.jsonl"
    res = run_cli(
        ["telematics", "generate", "--events", "30000", "--drivers", "50", "--options-file",
         str(ROOT / "scenarios" / "telematics" / "world_v1.yaml"), "--out", str(out)]
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    labels = [
        json.loads(x) for x in (tmp_path / "world.jsonl.labels.jsonl").read_text().splitlines()
    ]
    assert {x["fault"] for x in labels} == {"anomaly_burst", "drop", "duplicate"}
    first = json.loads(out.read_text().splitlines()[0])
    assert {"region", "weather", "traffic", "seq"} <= set(first)
