"""Issue 11, items 1, 8, 10 and 12: `ingest listen` against what a hostile world sends, against
a busy database and a device registered while it runs; listener identities; plain MQTT at a
TLS port. Real Mosquitto on 127.0.0.1:1883 (and one of our own for TLS)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, func, select
from synthkit_reservoir.database.presence import default_client_id
from synthkit_reservoir.database.schema import telemetry, telemetry_rejects

from tests.conftest import BIN
from tests.live import Listener

pytestmark = (
    pytest.mark.services
)  # the machine's Mosquitto, from the suite and from the CLI it runs

GOOD = {
    "schema_version": 1,
    "local_timestamp_ms": 1_770_000_000_000,
    "power": {"battery_percentage": 90.0},
    "signal_strength_dbm": -70,
    "sensors": {"ultrasonic": {"raw_readings": [500, 501, 502, 503, 504], "temperature_c": 20.0}},
}


def synthkit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "synthkit"), *args], capture_output=True, text=True, timeout=timeout
    )


class Fleet:
    """A registered SQLite reference database, a topic prefix of this test's own, a listener id."""

    def __init__(self, tmp_path: Path, devices: list[str]) -> None:
        self.prefix = "SAFE" + uuid.uuid4().hex[:6].upper()
        self.tmp = tmp_path
        self.url = f"sqlite:///{tmp_path}/ref.db"
        self.topic = f"{self.prefix}/+/telemetry"
        self.client_id = f"listener-{self.prefix}"
        assert synthkit("db", "init", "--db-url", self.url).returncode == 0
        self.register(devices)

    def register(self, devices: list[str]) -> None:
        path = self.tmp / f"fleet-{len(devices)}-{uuid.uuid4().hex[:4]}.yaml"
        path.write_text(
            "scenario_id: safe\ndevices:\n"
            + "".join(
                f"  - {{device_id: {d}, archetype: stationary_archetype_a}}\n" for d in devices
            )
        )
        res = synthkit("--scenario", str(path), "db", "register", "--db-url", self.url)
        assert res.returncode == 0, res.stderr

    def listen_args(self, *more: str) -> list[str]:
        return [str(BIN / "synthkit"), "ingest", "listen", *self.options(*more)]

    def options(self, *more: str) -> list[str]:
        return ["--db-url", self.url, "--topic", self.topic, "--client-id", self.client_id, *more]

    def subscribe_once(self) -> None:
        """Create the listener's persistent session, so messages published now are queued."""
        res = subprocess.run(
            self.listen_args("--duration-seconds", "1"), capture_output=True, text=True, timeout=60
        )
        assert res.returncode == 0, res.stderr

    def publish(self, items: list[tuple[str, bytes]]) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
        client.connect("127.0.0.1", 1883)
        client.loop_start()
        for device, payload in items:
            client.publish(f"{self.prefix}/{device}/telemetry", payload, qos=1).wait_for_publish(10)
        client.disconnect()
        client.loop_stop()

    def scalar(self, query) -> int:
        engine = create_engine(self.url)
        with engine.connect() as conn:
            value = conn.execute(query).scalar_one()
        engine.dispose()
        return int(value)


def message(seq: object, **changes: object) -> bytes:
    body = json.dumps({**GOOD, "seq": 0, **changes})
    return body.replace('"seq": 0', f'"seq": {seq}', 1).encode()


@pytest.mark.slow
def test_poison_messages_are_rejected_and_kept_and_the_good_ones_stored(tmp_path):
    """Item 1: each of these made the listener exit 1, the batch's good messages unstored, and
    the redelivered poison killed every restart."""
    fleet = Fleet(tmp_path, ["TANK-01", "TANK-02"])
    fleet.subscribe_once()
    three = dict(
        GOOD, sensors={"ultrasonic": {"raw_readings": [500, 501, 502], "temperature_c": 20.0}}
    )
    poison = [
        message(18446744073709551616),  # past int64
        message("Infinity"),  # not JSON
        message("1e300"),
        message(7, local_timestamp_ms=10**20),
        message(8, sensors={"ultrasonic": {"raw_readings": [], "temperature_c": 20.0}}),
        b"[" * 200_000 + b"]" * 200_000,  # deeper than any parser recursion
        b"\xff\xfenot json",
        message("true"),
    ]
    items = (
        [("TANK-01", message(1)), ("TANK-01", message(2))]
        + [("TANK-02", p) for p in poison]
        + [("TANK-01", message(3, **three)), ("TANK-02", message(4))]
    )
    fleet.publish(items)
    res = subprocess.run(
        fleet.listen_args("--count", str(len(items)), "--duration-seconds", "60"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 3, res.stderr  # ran to the end, and says some were rejected
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
    summary = json.loads(res.stdout)
    counts = summary["status_counts"]
    assert counts["stored:NEW"] == 4 and summary["received"] == len(items)
    assert counts["rejected:BAD_PAYLOAD"] == 4 and counts["rejected:BAD_JSON"] == 3
    assert counts["rejected:NO_READINGS"] == 1 and summary["rejects_stored"] == 8
    assert fleet.scalar(select(func.count()).select_from(telemetry)) == 4
    engine = create_engine(fleet.url)
    with engine.connect() as conn:
        kept = conn.execute(
            select(
                telemetry_rejects.c.payload, telemetry_rejects.c.reason, telemetry_rejects.c.topic
            )
        ).all()
    engine.dispose()
    assert sorted(bytes(p) for p, _, _ in kept) == sorted(poison)  # every byte kept, nothing lost
    assert {t for _, _, t in kept} == {f"{fleet.prefix}/TANK-02/telemetry"}
    # all acknowledged: a restart gets nothing again, and does not die
    again = subprocess.run(
        fleet.listen_args("--duration-seconds", "2"), capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["received"] == 0


@pytest.mark.slow
def test_a_device_registered_while_listening_is_stored_not_rejected(tmp_path):
    """Item 10: the device table was loaded once, so a device registered later was rejected
    UNKNOWN_DEVICE for messages the broker considered delivered."""
    fleet = Fleet(tmp_path, ["OLD-1"])
    fleet.subscribe_once()
    listener = Listener(
        tmp_path, *fleet.options("--count", "3", "--duration-seconds", "60")
    )  # device table loaded
    fleet.register(["OLD-1", "NEW-1"])
    fleet.publish([("NEW-1", message(1)), ("NEW-1", message(2)), ("OLD-1", message(1))])
    code, heard, err = listener.result(timeout=90)
    assert code == 0, err
    assert heard["status_counts"] == {"stored:NEW": 3}


@pytest.mark.slow
def test_a_locked_sqlite_database_is_waited_for(tmp_path):
    """Item 8: `database is locked` ended the listener; it must wait, ack nothing meanwhile,
    and store everything once the lock is gone."""
    fleet = Fleet(tmp_path, ["TANK-01"])
    fleet.subscribe_once()
    listener = Listener(tmp_path, *fleet.options("--count", "5", "--duration-seconds", "90")).proc
    holder = sqlite3.connect(tmp_path / "ref.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    fleet.publish([("TANK-01", message(s)) for s in range(5)])
    time.sleep(9)  # longer than SQLite's own 5 s busy wait
    assert listener.poll() is None, listener.communicate()[1]
    holder.execute("ROLLBACK")
    holder.close()
    out, err = listener.communicate(timeout=90)
    assert listener.returncode == 0, err
    assert "database is locked" in err and "retrying" in err
    assert json.loads(out)["status_counts"] == {"stored:NEW": 5}
    assert fleet.scalar(select(func.count()).select_from(telemetry)) == 5


def test_the_default_listener_id_is_one_per_database():
    """Item 12: every listener used `synthkit-listener`, so two of them took each other's
    session and a new one received another database's queued messages."""
    a = default_client_id("sqlite:///a.db", "devices/+/telemetry")
    b = default_client_id("postgresql+psycopg://root@127.0.0.1:5432/test", "devices/+/telemetry")
    assert a != b and a.startswith("synthkit-listener-")
    assert a == default_client_id(
        "sqlite:///a.db", "devices/+/telemetry"
    )  # a restart resumes its session


@pytest.mark.slow
def test_two_listeners_sharing_an_id_are_warned(tmp_path):
    fleet = Fleet(tmp_path, ["TANK-01"])
    procs = [
        subprocess.Popen(
            fleet.listen_args("--duration-seconds", "12"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=90) for p in procs]
    warned = [json.loads(out)["warnings"] for out, _ in results]
    assert any(
        w and "another client is probably connected with client id" in w[0] for w in warned
    ), results
    assert any("give each listener its own --client-id" in err for _, err in results)


def test_plain_mqtt_at_a_tls_port_fails_at_once_with_the_likely_cause(tmp_path, tls_broker):
    """Item 8: it waited 30 s, then said only that the connection was not accepted."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "scenario_id: plain\ndevices:\n  - {device_id: P-1, archetype: stationary_archetype_a}\n"
    )
    for args in (
        [
            "--scenario",
            str(path),
            "--state-file",
            str(tmp_path / "s.json"),
            "run",
            "--iterations",
            "1",
        ],
        ["ingest", "listen", "--db-url", f"sqlite:///{tmp_path}/r.db", "--duration-seconds", "5"],
    ):
        if args[0] == "ingest":
            assert synthkit("db", "init", "--db-url", f"sqlite:///{tmp_path}/r.db").returncode == 0
        res = synthkit(*args, "--host", "127.0.0.1", "--port", str(tls_broker.port))
        assert res.returncode == 2, res.stderr
        assert "expects TLS" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "s.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("port", ["0", "65536", "-1"])
def test_a_port_out_of_range_is_a_clear_error(tmp_path, port):
    path = tmp_path / "s.yaml"
    path.write_text(
        "scenario_id: plain\ndevices:\n  - {device_id: P-1, archetype: stationary_archetype_a}\n"
    )
    res = synthkit("--scenario", str(path), "run", "--port", port, timeout=30)
    assert (
        res.returncode == 2 and "not a port number" in res.stderr and "Traceback" not in res.stderr
    )
    assert not (tmp_path / ".tmp").exists()
