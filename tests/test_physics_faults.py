"""Faults in a stationary tank's physics (issue 26): a leak, a refill valve stuck shut, a
battery drained to shutdown. Each acts only inside its window and only on its devices; the
model carries what it did into the steps after (lost water stays lost), so records after the
window may differ too, but only the faulted device's; labels name the window's records."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from synthkit.testing import run_cli
from tests.test_faults import ROUTE_R1

FLEET = """\
scenario_id: physics_t
seed: 3
bootstrap: {days: 4, step_minutes: 30}
devices:
  - {group: t, count: 4, id_pattern: "T-{n:02d}", archetype: stationary_archetype_a}
"""
END = "2026-03-05T00:00:00Z"
START, STOP = "2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z"  # the faults' window
FAULTS = {
    "leak": "devices: [T-01]\n    liters_per_hour: 60",
    "stuck_valve": "devices: [T-02]",
    "battery_drain": "devices: [T-03]\n    extra_pct_per_day: 300\n    restart_pct: 20",
}


def export(tmp_path: Path, name: str, faults: str = "") -> tuple[dict, list[dict]]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(FLEET + (f"faults:\n{faults}" if faults else ""))
    res = run_cli(
        [
            "--scenario", str(path), "--state-file", str(tmp_path / f"{name}.json"),
            "export-csv", "--output-root", str(tmp_path / name), "--end-at", END,
        ]
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    csv_path = Path(json.loads(res.stdout)["csv"])
    with csv_path.open() as fh:
        rows = {(r["device_id"], int(r["seq"])): r for r in csv.DictReader(fh)}
    labels_path = csv_path.with_name(csv_path.name + ".labels.jsonl")
    labels = [json.loads(x) for x in labels_path.read_text().splitlines()] if faults else []
    return rows, labels


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return export(tmp_path_factory.mktemp("clean"), "clean")[0]


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_a_physics_fault_acts_in_its_window_on_its_device_and_the_state_carries_it(
    tmp_path, clean, kind
):
    entry = f"  - type: {kind}\n    window: {{start: {START}, end: {STOP}}}\n    {FAULTS[kind]}\n"
    rows, labels = export(tmp_path, "faulted", entry)
    device = FAULTS[kind].split("[")[1].split("]")[0]
    inside = {k for k, r in clean.items() if k[0] == device and START <= r["received_at"] < STOP}
    assert {(x["stream"], x["seq"]) for x in labels} == inside  # the window's records
    changed = {k for k in clean if k not in rows or rows[k] != clean[k]}
    assert changed and {k[0] for k in changed} == {device}  # no other device moves
    first = min(clean[k]["received_at"] for k in changed)
    assert first >= START  # nothing before the window
    assert any(clean[k]["received_at"] < STOP for k in changed)  # it acted in the window
    if kind == "leak":  # the tank holds less: at least one step's leak, never more water
        lost = [float(clean[k]["liters"]) - float(rows[k]["liters"]) for k in sorted(inside)]
        assert max(lost) >= 60 * 0.5 and min(lost) >= 0
    elif kind == "stuck_valve":  # no refill lands in the window
        assert all(float(rows[k]["inflow_liters"]) == 0 for k in inside)
        assert any(float(clean[k]["inflow_liters"]) > 0 for k in inside)
    else:  # drained: the device shut down, sent nothing, and its seqs stayed used
        dropped = {(x["stream"], x["seq"]) for x in labels if x["effect"] == "dropped"}
        assert dropped and dropped == inside - set(rows)
        assert all(float(r["battery_percentage"]) >= 0 for r in rows.values())
        assert {x["effect"] for x in labels} == {"changed", "dropped"}


def test_a_physics_fault_on_a_device_of_another_model_is_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        FLEET.replace("count: 4", "count: 1")
        + """\
  - {device_id: M-01, archetype: mobile_high_efficiency, mode: MOBILE, route_id: r1}
"""
        + ROUTE_R1
        + """\
faults:
  - {type: leak, devices: all, liters_per_hour: 5}
"""
    )
    out = tmp_path / "out"
    res = run_cli(
        ["--scenario", str(path), "--state-file", str(tmp_path / "st.json"), "export-csv",
         "--output-root", str(out), "--end-at", END]
    )  # fmt: skip
    assert res.exit_code == 2
    assert "'M-01' is a mobile_truck" in res.stderr and "stationary_tank" in res.stderr
    assert not out.exists() or not any(out.rglob("*.csv"))
