"""Issue 26: the same data live and offline. For one scenario, seed and window, what ``run``
publishes to the broker (faults included: sensor values, drops, repeats, late records)
equals, message for message and in each device's order, what ``export-csv`` writes for that
window, and both label the same records."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest

from tests.live import Subscriber, topic_block
from tests.test_mqtt_live import synthkit

pytestmark = pytest.mark.services  # the machine's Mosquitto

START, END = "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"
SCENARIO = """\
scenario_id: live_offline_t
seed: 5
speedup_factor: 60000
bootstrap: {{days: 1, step_minutes: 5}}
devices:
  - {{group: a, count: 2, id_pattern: "{p}-A{{n}}", archetype: stationary_archetype_a, cadence_seconds: 300}}
  - {{group: c, count: 2, id_pattern: "{p}-C{{n}}", archetype: stationary_archetype_c, cadence_seconds: 300}}
faults:
  - {{type: stuck_at, devices: {{group: a}}, column: raw_*, value: 700, window: {{start: "2026-03-01T03:00:00Z", end: "2026-03-01T05:00:00Z"}}}}
  - {{type: spike, devices: all, column: raw_*, rate: 0.1, factor: 2}}
  - {{type: drop, devices: all, share: 0.1, window: {{daily: "10:00-14:00"}}}}
  - {{type: dropout, devices: [{p}-C1], window: {{start: "2026-03-01T15:00:00Z", end: "2026-03-01T16:00:00Z"}}}}
  - {{type: duplicate, devices: all, every: 11}}
  - {{type: late, devices: [{p}-A2, {p}-C2], share: 0.2, delay: 20m}}
"""


def flat(payload: dict) -> tuple:
    """A message's values, as the export's row holds them."""
    sensors = payload["sensors"]["ultrasonic"]
    return (
        payload["seq"],
        payload["local_timestamp_ms"],
        tuple(sensors["raw_readings"]),
        sensors.get("temperature_c"),
        payload["power"]["battery_percentage"],
        payload["signal_strength_dbm"],
    )


def row_values(row: dict) -> tuple:
    raws = tuple(int(row[f"raw_{i}"]) for i in range(1, 6) if row.get(f"raw_{i}"))
    temperature = float(row["temperature_c"]) if row["temperature_c"] else None
    return (
        int(row["seq"]),
        int(row["local_timestamp_ms"]),
        raws,
        temperature,
        float(row["battery_percentage"]),
        int(row["signal_strength_dbm"]),
    )


def sorted_labels(path: Path) -> list[str]:
    return sorted(path.read_text().splitlines())


@pytest.mark.slow
def test_run_publishes_what_export_csv_writes_for_the_window_faults_and_labels_alike(tmp_path):
    prefix = "LO" + uuid.uuid4().hex[:6].upper()
    root = f"sk-test-{prefix.lower()}"
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(p=prefix) + topic_block(root))
    res = synthkit(
        "--scenario", str(path), "--state-file", str(tmp_path / "export.json"),
        "export-csv", "--output-root", str(tmp_path / "out"), "--end-at", END,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    csv_path = Path(json.loads(res.stdout)["csv"])
    offline: dict[str, list[tuple]] = {}
    with csv_path.open() as fh:
        for row in csv.DictReader(fh):
            offline.setdefault(row["device_id"], []).append(row_values(row))
    rows = sum(map(len, offline.values()))

    sub = Subscriber(f"{root}/+/telemetry")
    try:
        notes = tmp_path / "notes"
        res = synthkit(
            "--scenario", str(path), "--state-file", str(tmp_path / "live.json"),
            "--notes-dir", str(notes), "run", "--start-at", START, "--iterations", "289",
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        summary = json.loads(res.stdout)
        assert summary["acknowledged"] == rows, summary
        heard = sub.wait(rows)
    finally:
        sub.close()
    live: dict[str, list[tuple]] = {}
    for topic, payload in heard:
        live.setdefault(topic.split("/")[1], []).append(flat(json.loads(payload)))
    assert live.keys() == offline.keys()
    for device, values in offline.items():
        assert live[device] == values, device  # the same messages, in the same order

    (labels,) = notes.glob("*.labels.jsonl")
    exported = csv_path.with_name(csv_path.name + ".labels.jsonl")
    assert sorted_labels(labels) == sorted_labels(exported)
    kinds = {json.loads(x)["fault"] for x in exported.read_text().splitlines()}
    assert kinds == {"stuck_at", "spike", "drop", "dropout", "duplicate", "late"}
