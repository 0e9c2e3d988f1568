"""The third family (issue 12): plugins/examples/synthkit-energy-meter, installed as a real
distribution, runs through the real CLI: its plugins are listed under its distribution, and
with no commands of its own (it emits on ticks), synthkit's export writes a file through the
file sinks, a live run reaches the real Mosquitto on 127.0.0.1:1883 (every reading received,
on each meter's own topic) and is recorded, reconciled and replayed, and without the mqtt
plugin the live run says what to install while export keeps working."""

from __future__ import annotations

import csv
import json
import subprocess
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.live import install_example, synthkit_with

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "plugins" / "examples" / "synthkit-energy-meter"
SCENARIO = """\
scenario_id: town_grid
seed: 11
energy_meter:
  interval_minutes: 30
  days: 2
  meters:
    - {id_pattern: "HOME-{n:02d}", count: 6, archetype: household}
    - {meter_id: SHOP-1, archetype: small_shop}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return install_example(EXAMPLE, tmp_path_factory.mktemp("site"))


def _synthkit(
    site: Path, tmp_path: Path, *args: str, disable: str = ""
) -> subprocess.CompletedProcess[str]:
    return synthkit_with(site, tmp_path, SCENARIO, *args, disable=disable)


@pytest.mark.slow
def test_its_plugins_are_listed_under_its_own_distribution(site, tmp_path):
    listed = json.loads(_synthkit(site, tmp_path, "plugins", "--json").stdout)["plugins"]
    mine = {
        p["name"]: p["registers"] for p in listed if p["distribution"] == "synthkit-energy-meter"
    }
    assert mine == {
        "energy_meter": {"families": ["energy_meter"]},
        "smart_meter": {"device_models": ["smart_meter"]},
        "meter_archetypes": {"archetypes": ["household", "small_shop"]},
    }


@pytest.mark.slow
def test_export_to_a_file_sink_is_whole_and_reproducible(site, tmp_path):
    res = _synthkit(site, tmp_path, "export", "--out", "r.csv", "--end-at", "2026-03-02T00:00:00Z")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["rows"] == 7 * 96 and summary["format"] == "csv"
    with open(tmp_path / "r.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 7 * 96 and rows[-1]["ts"] == "2026-03-02T00:00:00Z"
    first = (tmp_path / "r.csv").read_bytes()
    (tmp_path / "state.json").unlink()
    assert (
        _synthkit(
            site, tmp_path, "export", "--out", "r.csv", "--end-at", "2026-03-02T00:00:00Z"
        ).returncode
        == 0
    )
    assert (tmp_path / "r.csv").read_bytes() == first
    jsonl = _synthkit(
        site, tmp_path, "export", "--out", "r.jsonl", "--end-at", "2026-03-02T00:00:00Z"
    )
    assert jsonl.returncode == 0, jsonl.stderr
    assert (
        json.loads((tmp_path / "r.jsonl").read_text().splitlines()[0])["seq"] == 96
    )  # the state file moved on


@pytest.mark.slow
@pytest.mark.services
def test_a_live_run_delivers_every_reading_to_the_real_broker(site, tmp_path):
    prefix = f"T{uuid.uuid4().hex[:8]}"
    got: dict[str, list[dict]] = {}
    subscribed, lock = threading.Event(), threading.Lock()

    def on_message(client, userdata, msg):
        with lock:
            got.setdefault(msg.topic, []).append(json.loads(msg.payload))

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{prefix}-sub")
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect("127.0.0.1", 1883)
    sub.subscribe(f"{prefix}/+/readings", qos=1)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        res = _synthkit(
            site,
            tmp_path,
            "live",
            "--iterations",
            "4",
            "--every",
            "0.1",
            "--topic",
            prefix + "/{meter_id}/readings",
        )
        assert res.returncode == 0, res.stderr
        summary = json.loads(res.stdout)
        assert summary["emitted"] == summary["acknowledged"] == 28 and summary["complete"]
        deadline = threading.Event()
        for _ in range(50):
            with lock:
                if sum(map(len, got.values())) >= 28:
                    break
            deadline.wait(0.1)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert set(got) == {f"{prefix}/HOME-{n:02d}/readings" for n in range(1, 7)} | {
        f"{prefix}/SHOP-1/readings"
    }
    for topic, readings in got.items():
        assert [r["seq"] for r in readings] == [0, 1, 2, 3]
        assert all(r["meter_id"] == topic.split("/")[1] for r in readings)
    state = json.loads((tmp_path / "state.json").read_text())["devices"]
    assert state == {m: 3 for m in [f"HOME-{n:02d}" for n in range(1, 7)] + ["SHOP-1"]}


@pytest.mark.slow
def test_without_the_mqtt_plugin_the_run_says_what_to_install_and_export_still_works(
    site, tmp_path
):
    res = _synthkit(site, tmp_path, "live", "--iterations", "1", disable="mqtt")
    assert res.returncode == 2
    assert (
        "unknown broker sink 'mqtt'" in res.stderr
        and "install (or enable) synthkit's mqtt sink plugin" in res.stderr
    )
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "state.json").exists()
    ok = _synthkit(
        site,
        tmp_path,
        "export",
        "--out",
        "r.csv",
        "--end-at",
        "2026-03-02T00:00:00Z",
        disable="mqtt",
    )
    assert ok.returncode == 0, ok.stderr


@pytest.mark.slow
@pytest.mark.services
def test_a_live_run_is_recorded_reconciled_and_replayed_byte_for_byte(site, tmp_path):
    """The closed loop, for a family the core knows nothing of: the run's record names every
    reading, reconcile finds the ones a store lacks, and replay sends exactly those again,
    each the bytes first published."""
    from tests.live import closed_loop, own_prefix

    dropped = {("SHOP-1", 1), ("SHOP-1", 2), ("HOME-03", 3)}
    first, again, _ = closed_loop(
        lambda *args: _synthkit(site, tmp_path, *args),
        own_prefix("meter") + "/{meter_id}/readings",
        "meter_id",
        4,
        dropped,
    )
    assert len(first) == 28 and set(again) == dropped
    assert {k: again[k] for k in dropped} == {k: first[k] for k in dropped}  # topic and bytes
