"""Telematics events through the mqtt sink (issue 5), against the real Mosquitto on
127.0.0.1:1883: one connection per driver, the family's topic template, and payloads that are
exactly the JSON lines `telematics generate` writes for the same seed and start."""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict

import pytest
from synthkit_mqtt.testbroker import free_port

from tests.conftest import BIN
from tests.live import Subscriber, own_prefix

pytestmark = pytest.mark.services

ARGS = ["--drivers", "3", "--events", "12", "--seed", "7", "--start", "2026-01-05T00:00:00Z"]


def synthkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "synthkit"), *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_publish_sends_each_event_on_its_drivers_topic_as_its_json_line(tmp_path):
    root = own_prefix("tm")
    sub = Subscriber(f"{root}/#")
    # the simulated clock (not the default wall clock) is what `generate` writes too
    res = synthkit(
        "telematics",
        "publish",
        *ARGS,
        "--interval",
        "0.05",
        "--topic",
        root + "/{driver_id}/events",
        "--client-id-prefix",
        root + "-",
        "--clock",
        "simulated",
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert (
        summary["emitted"],
        summary["acknowledged"],
        summary["failed"],
        summary["broker_acknowledged_all"],
    ) == (12, 12, 0, True)
    assert summary["per_driver"] == {
        d: {"emitted": 4, "acknowledged": 4, "failed": 0, "reconnects": 0}
        for d in ("D0000", "D0001", "D0002")
    }
    assert sum(summary["event_type_counts"].values()) == 12

    heard: dict[str, list[str]] = defaultdict(list)  # topic -> payloads, in arrival order
    try:
        for topic, payload in sub.wait(12):
            heard[topic].append(payload.decode())
    finally:
        sub.close()

    out = tmp_path / "e.jsonl"
    assert synthkit("telematics", "generate", *ARGS, "--out", str(out)).returncode == 0
    expected: dict[str, list[str]] = defaultdict(list)
    for line in out.read_text().splitlines():
        expected[f"{root}/{json.loads(line)['driver_id']}/events"].append(line)
    assert heard == expected  # same bytes, each driver's events in order on its own topic


@pytest.mark.slow
def test_publish_to_an_unreachable_broker_fails_before_generating(tmp_path):
    res = synthkit("telematics", "publish", *ARGS, "--port", str(free_port()))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "cannot reach the MQTT broker at 127.0.0.1:" in res.stderr


@pytest.mark.slow
def test_a_topic_without_the_driver_is_refused():
    res = synthkit("telematics", "publish", *ARGS, "--topic", "fleet/events")
    assert res.returncode == 2 and "{driver_id}" in res.stderr


@pytest.mark.slow
def test_publish_with_faults_sends_what_generate_writes_and_labels_the_same_events(tmp_path):
    """Issue 26: the same data live and offline, for telematics faults too."""
    root = own_prefix("tf")
    options = tmp_path / "world.yaml"
    options.write_text(
        "faults:\n"
        "  - {type: duplicate, devices: all, every: 2}\n"
        "  - {type: anomaly_burst, devices: [D0001], weights: {hard_braking: 9}}\n"
    )
    out = tmp_path / "e.jsonl"
    made = synthkit(
        "telematics", "generate", *ARGS, "--options-file", str(options), "--out", str(out)
    )
    assert made.returncode == 0, made.stderr
    lines = out.read_text().splitlines()
    sub = Subscriber(f"{root}/#")
    try:
        res = synthkit(
            "--notes-dir", str(tmp_path / "notes"),
            "telematics", "publish", *ARGS, "--options-file", str(options),
            "--interval", "0.02", "--topic", root + "/{driver_id}/events",
            "--client-id-prefix", root + "-", "--clock", "simulated",
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        heard = sub.wait(len(lines))
    finally:
        sub.close()
    by_driver: dict[str, list[str]] = defaultdict(list)
    for topic, payload in heard:
        by_driver[topic].append(payload.decode())
    expected: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        expected[f"{root}/{json.loads(line)['driver_id']}/events"].append(line)
    assert by_driver == expected and len(lines) > 12  # the repeats were published too
    (labels,) = (tmp_path / "notes").glob("*.labels.jsonl")
    written = tmp_path / "e.jsonl.labels.jsonl"
    assert sorted(labels.read_text().splitlines()) == sorted(written.read_text().splitlines())


@pytest.mark.slow
def test_a_published_run_on_the_wall_clock_replays_byte_for_byte(tmp_path):
    """publish numbers each driver's events on from the state file and records the run;
    replay regenerates any of them as first sent, wall-clock stamps included (a paced feed
    stamps each round with its due instant)."""
    root = own_prefix("tr")
    state = tmp_path / "state.json"
    (tmp_path / "state.json").write_text('{"version": 1, "devices": {"D0001": 41}}')
    sub = Subscriber(f"{root}/#")
    try:
        res = synthkit(
            "--state-file", str(state), "telematics", "publish", "--drivers", "3",
            "--events", "15", "--interval", "0.02", "--topic", root + "/{driver_id}/events",
            "--client-id-prefix", root + "-",
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        run_id = json.loads(res.stdout)["run_id"]
        first = [(t, json.loads(p)) for t, p in sub.wait(15)]
        sent = [p for t, p in sub.wait(15)]
        mine = [p for p in sent if b'"D0001"' in p]
        assert [json.loads(p)["seq"] for p in mine] == [42, 43, 44, 45, 46]
        assert json.loads(state.read_text())["devices"] == {"D0000": 4, "D0001": 46, "D0002": 4}
        again = synthkit(
            "--state-file", str(state), "replay", "--run", run_id, "--device", "D0001",
            "--topic", root + "/replayed/{driver_id}",
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        replayed = [p for t, p in sub.wait(20)[15:] if t.startswith(f"{root}/replayed/")]
    finally:
        sub.close()
    assert replayed == mine  # the same bytes: ids, stamps, seqs
    assert len({e["ts"] for _, e in first}) == 5  # one wall-clock instant per round


@pytest.mark.slow
def test_a_listener_on_telematics_topics_stores_into_the_endpoints_tables(tmp_path):
    """`ingest listen --topic 'telematics/+/events'` (on a broker of the test's own: the
    family's own topic, which the shared broker's other users may hear) stores what a
    telematics publish sends, each event once, in the table the endpoint fills (the family's
    sink, picked by the topic); reconcile then finds the publish complete."""
    import sqlalchemy as sa
    from synthkit_mqtt.testbroker import LocalBroker

    from tests.live import Listener

    broker = LocalBroker(tmp_path).start()
    url = f"sqlite:///{tmp_path}/t.db"
    common = ("--state-file", str(tmp_path / "state.json"), "--db-url", url)
    where = ("--host", "127.0.0.1", "--port", str(broker.port))
    try:
        listener = Listener(tmp_path, "--topic", "telematics/+/events", *where, "--count", "30",
                            pre=common)  # fmt: skip
        try:
            res = synthkit(*common, "telematics", "publish", "--drivers", "3", "--events", "30",
                           "--interval", "0", "--clock", "simulated", *where)  # fmt: skip
            assert res.returncode == 0, res.stderr
            code, heard, err = listener.result()
        finally:
            listener.stop()
    finally:
        broker.stop()
    assert code == 0 and heard["status_counts"] == {"stored:DB": 30}, err
    found = json.loads(synthkit(*common, "reconcile").stdout)
    assert found["complete"] and found["stored"] == found["expected"] == 30
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        payloads = sorted(
            r[0] for r in conn.exec_driver_sql("SELECT payload FROM telematics_events")
        )
    engine.dispose()
    assert len(payloads) == 30 and {json.loads(p)["driver_id"] for p in payloads} == {
        "D0000", "D0001", "D0002"}  # fmt: skip
