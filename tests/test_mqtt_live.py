"""Live MQTT (issue 5) against real Mosquitto: the shared broker on 127.0.0.1:1883, and brokers
these tests start themselves (TLS with freshly generated certificates, a restart mid-run)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from synthkit_mqtt.testbroker import LocalBroker, free_port

from tests.conftest import BIN
from tests.live import Listener, Subscriber, topic_block

pytestmark = (
    pytest.mark.services
)  # the machine's Mosquitto, from the suite and from the CLI it runs

SCENARIO = """scenario_id: live_t
speedup_factor: {speedup}
devices:
  - {{group: t, count: {count}, id_pattern: "{prefix}-{{n:02d}}", archetype: stationary_archetype_a, cadence_seconds: 60}}
"""


def scenario(
    tmp_path: Path, count: int = 4, speedup: float = 600, extra: str = ""
) -> tuple[Path, str]:
    """(the scenario, its device id prefix); it publishes under ``root(prefix)``, unless
    ``extra`` has an mqtt block of its own."""
    prefix = "LT" + uuid.uuid4().hex[:6].upper()  # topics of parallel runs never mix
    path = tmp_path / "live.yaml"
    path.write_text(
        SCENARIO.format(count=count, speedup=speedup, prefix=prefix)
        + (extra or topic_block(root(prefix)))
    )
    return path, prefix


def root(prefix: str) -> str:
    return f"sk-test-{prefix.lower()}"


def synthkit(
    *args: str, timeout: float = 120, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "synthkit"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
def test_run_and_listen_store_every_message_exactly_once(tmp_path):
    path, prefix = scenario(tmp_path, count=4)
    db = tmp_path / "l.db"
    url = f"sqlite:///{db}"
    assert synthkit("db", "init", "--db-url", url).returncode == 0
    assert synthkit("--scenario", str(path), "db", "register", "--db-url", url).returncode == 0
    listener = Listener(
        tmp_path,
        "--db-url",
        url,
        "--topic",
        f"{root(prefix)}/+/telemetry",
        "--client-id",
        f"listener-{prefix}",
        "--count",
        "24",
        "--duration-seconds",
        "60",
    )
    state = tmp_path / "seq.json"
    res = synthkit("--scenario", str(path), "--state-file", str(state), "run", "--iterations", "6")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert (summary["emitted"], summary["acknowledged"], summary["failed"]) == (24, 24, 0)
    assert all(
        d == {"emitted": 6, "acknowledged": 6, "failed": 0, "reconnects": 0}
        for d in summary["devices"].values()
    )
    _, heard, err = listener.result(timeout=60)
    assert heard["status_counts"] == {"stored:NEW": 24} and heard["seq_gaps"] == {}, err
    rows = (
        sqlite3.connect(db).execute("SELECT mqtt_client_id, seq, payload FROM telemetry").fetchall()
    )
    assert sorted((c, s) for c, s, _ in rows) == sorted(
        (f"{prefix}-{n:02d}", s) for n in range(1, 5) for s in range(6)
    )
    assert all(json.loads(p)["seq"] == s for _, s, p in rows)
    assert json.loads(state.read_text())["devices"] == {f"{prefix}-{n:02d}": 5 for n in range(1, 5)}
    again = json.loads(
        synthkit(
            "--scenario", str(path), "--state-file", str(state), "run", "--iterations", "1"
        ).stdout
    )
    assert (
        again["emitted"] == 4 and json.loads(state.read_text())["devices"][f"{prefix}-01"] == 6
    )  # continues, never reuses


@pytest.mark.slow
def test_an_unreachable_broker_fails_before_anything_is_published(tmp_path):
    path, _ = scenario(tmp_path)
    state = tmp_path / "seq.json"
    res = synthkit(
        "--scenario",
        str(path),
        "--state-file",
        str(state),
        "run",
        "--iterations",
        "2",
        "--port",
        str(free_port()),
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "cannot reach the MQTT broker at 127.0.0.1:" in res.stderr
    assert not state.exists()


@pytest.mark.slow
def test_sigterm_stops_waits_for_acks_saves_state_and_reports(tmp_path):
    path, prefix = scenario(tmp_path, count=3, speedup=60)  # one message per device per second
    state = tmp_path / "seq.json"
    sub = Subscriber(f"{root(prefix)}/#")
    proc = subprocess.Popen(
        [str(BIN / "synthkit"), "--scenario", str(path), "--state-file", str(state), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sub.wait(6)  # it is publishing
    finally:
        sub.close()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["interrupted"] is True and summary["emitted"] >= 6
    assert summary["acknowledged"] == summary["emitted"] and summary["failed"] == 0
    saved = json.loads(state.read_text())["devices"]
    for device, counts in summary["devices"].items():
        assert saved[device] >= counts["emitted"] - 1  # every published seq is reserved


@pytest.mark.slow
def test_a_broker_restart_mid_run_is_survived(tmp_path):
    broker = LocalBroker(tmp_path).start()
    path, prefix = scenario(tmp_path, count=5, speedup=120)  # 2 messages per device per second
    sub = Subscriber(f"{root(prefix)}/#", broker.port)
    proc = subprocess.Popen(
        [
            str(BIN / "synthkit"),
            "--scenario",
            str(path),
            "--state-file",
            str(tmp_path / "s.json"),
            "run",
            "--port",
            str(broker.port),
            "--iterations",
            "16",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sub.wait(10)  # mid-run
        sub.close()
        broker.stop()
        time.sleep(1.5)
        broker.start()
        out, err = proc.communicate(timeout=90)
    finally:
        broker.stop()
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["emitted"] == 80 and summary["acknowledged"] == 80 and summary["failed"] == 0
    assert summary["reconnects"] >= 5


@pytest.mark.slow
def test_run_and_listen_across_a_broker_restart_store_every_message_once(tmp_path):
    """The broker (with persistence, as a production one runs) restarts while `run` publishes
    and `ingest listen` ingests: both reconnect, and the database holds every (device, seq)
    exactly once, with no gap."""
    broker = LocalBroker(
        tmp_path, extra=f"persistence true\npersistence_location {tmp_path}/\n"
    ).start()
    path, prefix = scenario(tmp_path, count=4, speedup=120)  # 2 messages per device per second
    url = f"sqlite:///{tmp_path}/r.db"
    assert synthkit("db", "init", "--db-url", url).returncode == 0
    assert synthkit("--scenario", str(path), "db", "register", "--db-url", url).returncode == 0
    listener = Listener(
        tmp_path,
        "--db-url",
        url,
        "--port",
        str(broker.port),
        "--topic",
        f"{root(prefix)}/+/telemetry",
        "--client-id",
        f"listener-{prefix}",
        "--idle-timeout",
        "8",
        "--duration-seconds",
        "120",
    )
    sub = Subscriber(f"{root(prefix)}/#", broker.port)
    try:
        run = subprocess.Popen(
            [
                str(BIN / "synthkit"),
                "--scenario",
                str(path),
                "--state-file",
                str(tmp_path / "s.json"),
                "run",
                "--port",
                str(broker.port),
                "--iterations",
                "16",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        sub.wait(10)  # mid-run
        sub.close()
        broker.stop()
        time.sleep(1.5)
        broker.start()
        out, err = run.communicate(timeout=90)
        assert run.returncode == 0, err
        _, heard, heard_err = listener.result(timeout=120)
    finally:
        listener.stop()
        broker.stop()
    summary = json.loads(out)
    assert (summary["emitted"], summary["acknowledged"], summary["failed"]) == (64, 64, 0)
    assert summary["reconnects"] >= 4
    assert heard["status_counts"]["stored:NEW"] == 64 and heard["seq_gaps"] == {}, heard_err
    assert heard["reconnects"] >= 1  # the listener lived through the restart
    assert set(heard["status_counts"]) <= {
        "stored:NEW",
        "duplicate:SEQ_ALREADY_STORED",
    }  # re-deliveries only
    rows = (
        sqlite3.connect(tmp_path / "r.db")
        .execute("SELECT mqtt_client_id, seq FROM telemetry")
        .fetchall()
    )
    assert sorted(rows) == sorted((f"{prefix}-{n:02d}", s) for n in range(1, 5) for s in range(16))


@pytest.mark.slow
def test_the_scenario_sets_the_topic_template_and_a_bad_one_is_refused(tmp_path):
    root = "sk-test-st" + uuid.uuid4().hex[:8]
    path, prefix = scenario(
        tmp_path, count=2, extra=f'mqtt: {{topic: "{root}/{{device_id}}/up"}}\n'
    )
    sub = Subscriber(f"{root}/#")
    state = tmp_path / "s.json"
    try:
        res = synthkit(
            "--scenario", str(path), "--state-file", str(state), "run", "--iterations", "2"
        )
        assert res.returncode == 0, res.stderr
        topics = sorted(topic for topic, _ in sub.wait(4))
    finally:
        sub.close()
    assert topics == sorted(f"{root}/{prefix}-0{n}/up" for n in (1, 2) for _ in range(2))
    for template, says in (
        ("x/{device}/t", "has no {device_id}"),
        ("x/{device_id}/{site}", "KeyError: 'site'"),
        ("x/+/{device_id}", "not a publishable MQTT topic"),
    ):
        bad = synthkit(
            "--scenario",
            str(path),
            "--state-file",
            str(tmp_path / "bad.json"),
            "run",
            "--topic",
            template,
        )
        assert bad.returncode == 2 and says in bad.stderr and "Traceback" not in bad.stderr
        assert not (tmp_path / "bad.json").exists()


@pytest.mark.slow
def test_progress_goes_to_stderr_and_the_summary_stays_clean_json(tmp_path):
    path, _ = scenario(tmp_path, count=2)
    res = synthkit(
        "--scenario",
        str(path),
        "--state-file",
        str(tmp_path / "s.json"),
        "run",
        "--iterations",
        "3",
        env={"SYNTHKIT_PROGRESS": "1", "COLUMNS": "120"},
    )
    assert res.returncode == 0, res.stderr
    assert "run -> 127.0.0.1:1883" in res.stderr and "6/6" in res.stderr
    assert json.loads(res.stdout)["emitted"] == 6


def tls_env(
    certs: Path, port: int, ca: str = "ca.crt", key: str = "client.key", **more: str
) -> dict:
    return {
        "SYNTHKIT_MQTT_HOST": "127.0.0.1",
        "SYNTHKIT_MQTT_PORT": str(port),
        "SYNTHKIT_MQTT_CA": str(certs / ca),
        "SYNTHKIT_MQTT_CERT": str(certs / "client.crt"),
        "SYNTHKIT_MQTT_KEY": str(certs / key),
        **more,
    }


def test_tls_with_client_certificates(tmp_path, certs, tls_broker):
    path, _ = scenario(tmp_path, count=2)
    res = synthkit(
        "--scenario",
        str(path),
        "--state-file",
        str(tmp_path / "s.json"),
        "run",
        "--iterations",
        "3",
        env=tls_env(certs, tls_broker.port),
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["tls"] is True and summary["acknowledged"] == 6


def test_tls_in_the_scenario_block_with_an_encrypted_key(tmp_path, certs, tls_broker):
    block = (
        f"mqtt:\n  host: 127.0.0.1\n  port: {tls_broker.port}\n  ca_path: {certs / 'ca.crt'}\n"
        f"  cert_path: {certs / 'client.crt'}\n  key_path: {certs / 'client_encrypted.key'}\n"
    )
    path, _ = scenario(tmp_path, count=1, extra=block)
    state = tmp_path / "s.json"
    res = synthkit("--scenario", str(path), "--state-file", str(state), "run", "--iterations", "2")
    assert res.returncode == 2 and "is encrypted and no password is set" in res.stderr
    assert "SYNTHKIT_MQTT_KEY_PASSWORD" in res.stderr and not state.exists()
    ok = synthkit(
        "--scenario",
        str(path),
        "--state-file",
        str(state),
        "run",
        "--iterations",
        "2",
        env={"SYNTHKIT_MQTT_KEY_PASSWORD": "secret"},
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["acknowledged"] == 2


def test_a_certificate_the_broker_cannot_prove_fails_before_publishing(tmp_path, certs, tls_broker):
    path, _ = scenario(tmp_path, count=2)
    state = tmp_path / "s.json"
    res = synthkit(
        "--scenario",
        str(path),
        "--state-file",
        str(state),
        "run",
        "--iterations",
        "2",
        env=tls_env(certs, tls_broker.port, ca="other_ca.crt"),
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert (
        "TLS handshake with 127.0.0.1:" in res.stderr and "CERTIFICATE_VERIFY_FAILED" in res.stderr
    )
    assert not state.exists()
    missing = synthkit(
        "--scenario",
        str(path),
        "run",
        "--iterations",
        "1",
        env=tls_env(certs, tls_broker.port, ca="nope.crt"),
    )
    assert missing.returncode == 2 and "nope.crt not found" in missing.stderr


@pytest.mark.slow
def test_the_legacy_wrapper_publishes_single_and_batch(tmp_path):
    prefix = "W" + uuid.uuid4().hex[:6].upper()
    topic = f"{root(prefix)}/{{device_id}}/telemetry"
    sub = Subscriber(f"{root(prefix)}/#")
    state = str(tmp_path / "s.json")
    single = subprocess.run(
        [
            str(BIN / "mqtt_simulator"),
            "--single",
            "--device-prefix",
            prefix,
            "--state-file",
            state,
            "--topic",
            topic,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert single.returncode == 0, single.stderr
    assert json.loads(single.stdout)["devices"] == {
        f"{prefix}-01": {"emitted": 1, "acknowledged": 1, "failed": 0, "reconnects": 0}
    }
    batch = subprocess.run(
        [
            str(BIN / "mqtt_simulator"),
            "--batch",
            "--count",
            "3",
            "--iterations",
            "2",
            "--device-prefix",
            prefix,
            "--state-file",
            state,
            "--host",
            "127.0.0.1",
            "--port",
            "1883",
            "--topic",
            topic,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert batch.returncode == 0, batch.stderr
    assert json.loads(batch.stdout)["acknowledged"] == 6
    try:
        got = sorted((t, json.loads(p)["seq"]) for t, p in sub.wait(7))
    finally:
        sub.close()
    assert got == sorted(
        [(f"{root(prefix)}/{prefix}-01/telemetry", 0)]
        + [
            (f"{root(prefix)}/{prefix}-0{n}/telemetry", s)
            for n, s in [(1, 1), (1, 2), (2, 0), (2, 1), (3, 0), (3, 1)]
        ]
    )
    down = subprocess.run(
        [
            str(BIN / "mqtt_simulator"),
            "--single",
            "--port",
            str(free_port()),
            "--state-file",
            state,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert down.returncode == 2 and "cannot reach the MQTT broker" in down.stderr


@pytest.mark.slow
def test_the_readmes_live_example_stores_what_the_legacy_wrapper_publishes(tmp_path):
    """The README ran `mqtt_simulator --batch --count 20` after `ingest listen &`, but nothing
    registered its devices, so the listener rejected all 20: `--register` does that first."""
    prefix = "R" + uuid.uuid4().hex[:6].upper()
    url = f"sqlite:///{tmp_path}/live.db"
    assert synthkit("db", "init", "--db-url", url).returncode == 0
    listener = Listener(
        tmp_path,
        "--db-url",
        url,
        "--count",
        "5",
        "--idle-timeout",
        "60",
        "--client-id",
        f"{prefix}-listener",
        "--topic",
        f"{root(prefix)}/+/telemetry",
    )
    sim = subprocess.run(
        [
            str(BIN / "mqtt_simulator"),
            "--batch",
            "--count",
            "5",
            "--register",
            "--db-url",
            url,
            "--device-prefix",
            prefix,
            "--state-file",
            str(tmp_path / "s.json"),
            "--topic",
            f"{root(prefix)}/{{device_id}}/telemetry",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    _, stored, err = listener.result(timeout=120)
    assert sim.returncode == 0, sim.stderr
    summary = json.loads(sim.stdout)  # one JSON document: the registration's went to stderr
    assert summary["delivery"]["stored"] == 5 and summary["delivery"]["missing"] == 0
    assert stored["status_counts"] == {"stored:NEW": 5}, (stored, err)
