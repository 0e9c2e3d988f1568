"""Issue 13: ``ingest listen`` is source -> sink. The ``mqtt`` source hands its messages to any
ingest sink (``--sink``), and acknowledges a message to the broker only once the sink took
its batch: a sink that fails leaves the messages with the broker, which hands them to the
next listener of the same session."""

from __future__ import annotations

import json
import types
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from synthkit import hookimpl
from synthkit.api import ConfigError, IngestSink, SinkReport, SinkSpec
from synthkit.plugins import build_plugins
from synthkit.testing import run_cli

pytestmark = pytest.mark.services


def _plugins(taken: list[bytes], fail: bool):  # returns Plugins
    class Recording(IngestSink):
        def __init__(self, target, options):
            self.n = 0

        def open(self, columns):
            assert set(columns) >= {"topic", "client", "payload", "received_at"}

        def write(self, batch):
            if fail:
                raise ConfigError("the recording sink is down")
            taken.extend(batch.column("payload").values)
            self.n += batch.n

        def close(self):
            return SinkReport("recording", self.n, outcomes={"stored:OK": self.n})

        def abort(self): ...

    module = types.ModuleType("recording")
    module.synthkit_register_sinks = hookimpl(
        lambda: [SinkSpec("recording", Recording, kind="ingest")]
    )
    plugins = build_plugins()
    plugins.register(module, "recording")
    return plugins


def _publish(topic_root: str, payloads: list[bytes]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    for i, p in enumerate(payloads):
        client.publish(f"{topic_root}/DEV-{i % 2}/telemetry", p, qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_listen_feeds_any_ingest_sink_and_a_failed_batch_is_redelivered(tmp_path):
    root, session = f"synthkit-src-{uuid.uuid4().hex[:8]}", f"synthkit-src-{uuid.uuid4().hex[:8]}"
    base = [
        "ingest",
        "listen",
        "--db-url",
        f"sqlite:///{tmp_path / 'unused.db'}",
        "--topic",
        f"{root}/+/telemetry",
        "--client-id",
        session,
        "--sink",
        "recording",
    ]
    run_cli(["db", "init", "--db-url", f"sqlite:///{tmp_path / 'unused.db'}"])
    taken: list[bytes] = []
    first = run_cli(
        [*base, "--duration-seconds", "1"], _plugins(taken, fail=False)
    )  # the session subscribes
    assert first.exit_code == 0, first.stderr
    payloads = [json.dumps({"n": i}).encode() for i in range(6)]
    _publish(root, payloads)  # queued by the broker for the session, no listener connected
    failed = run_cli(
        [*base, "--count", "6", "--duration-seconds", "10"], _plugins(taken, fail=True)
    )
    assert failed.exit_code == 2 and "the recording sink is down" in failed.stderr and taken == []
    again = run_cli(  # the broker as a URL: its scheme picks the mqtt source
        [*base, "--broker", "mqtt://127.0.0.1:1883", "--count", "6", "--duration-seconds", "10"],
        _plugins(taken, fail=False),
    )
    assert again.exit_code == 0, again.stderr
    summary = json.loads(again.stdout)
    assert sorted(taken) == sorted(payloads)  # nothing the failed sink did not take was lost
    assert summary["received"] == 6 and summary["status_counts"] == {"stored:OK": 6}


def test_listen_refuses_a_sink_of_another_kind():
    res = run_cli(["ingest", "listen", "--sink", "jsonl", "--duration-seconds", "1"])
    assert (
        res.exit_code == 2
        and "sink 'jsonl' is a file sink; ingest listen needs an ingest sink" in res.stderr
    )


def test_listen_names_the_sources_that_read_a_broker_url():
    res = run_cli(["ingest", "listen", "--broker", "nats://127.0.0.1:4222", "--count", "1"])
    assert res.exit_code == 2 and "--broker 'nats://127.0.0.1:4222': no source reads nats://" in (
        res.stderr
    )
    assert "installed: mqtt://, mqtts://" in res.stderr and "Traceback" not in res.stderr
