"""The ``mqtt`` source: a QoS 1 subscription under one persistent session (client id), read
in batches of messages (``synthkit.api.message_batch``). A message is acknowledged to the
broker only in :meth:`MqttSource.delivered`, once the sink took (committed) its batch, so a
reader killed at any moment loses nothing: the broker re-delivers it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt

from synthkit.api import Batch, ConfigError, Source, SourceTarget, message_batch, stderr
from synthkit_mqtt.client import Flaps, connect_kwargs, make_client, session_of, taken_over
from synthkit_mqtt.endpoint import settings_of
from synthkit_mqtt.options import MqttSourceOptions


class _Session:
    """Connection bookkeeping from paho's thread: how many connections, why one failed, and
    whether the broker keeps taking the session away (another client with our id)."""

    def __init__(self, where: str, client_id: str) -> None:
        self.where, self.client_id = where, client_id
        self.number = 0  # bumped on every (re)connect
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # the broker granted the subscription (SUBACK)
        self.failure: list[str] = []
        self.flaps = Flaps()
        self.flapping = ""

    def on_connect(self, client: mqtt.Client, topic: str, rc: Any) -> None:
        if rc.is_failure:
            self.failure.append(f"the broker at {self.where} refused the listener: {rc}")
            return
        self.number += 1
        client.subscribe(topic, qos=1)  # again after every reconnect
        self.connected.set()

    def on_subscribe(self, topic: str, reason_codes: list[Any]) -> None:
        refused = [rc for rc in reason_codes if rc.is_failure]
        if refused:
            self.failure.append(
                f"the broker at {self.where} refused the subscription to {topic!r}: {refused[0]}"
            )
        else:
            self.subscribed.set()

    def on_disconnect(self, rc: Any) -> None:
        if not self.connected.is_set() and not self.failure:
            # closed before any CONNACK: the likely cause is a TLS port spoken to in plain MQTT
            self.failure.append(
                f"the broker at {self.where} closed the connection before accepting it ({rc}); "
                "if that port expects TLS, set a CA (SYNTHKIT_MQTT_CA) or SYNTHKIT_MQTT_TLS=1"
            )
            return
        if self.flaps.lost_now() and not self.flapping:
            self.flapping = (
                taken_over("the listener", self.client_id, len(self.flaps.lost))
                + "; give each listener its own --client-id"
            )
            stderr().print(f"[yellow]warning:[/] {self.flapping}", highlight=False, soft_wrap=True)


class MqttSource(Source):
    def __init__(self, target: SourceTarget, options: MqttSourceOptions) -> None:
        host, _, port = target.address.rpartition(":")
        self.target, self.options, self.at = target, options, target.client_level()
        self.host, self.port = host, int(port)
        self.session = _Session(target.address, target.client_id)
        self.inbox: queue.Queue[tuple[int, mqtt.MQTTMessage]] = (
            queue.Queue()
        )  # (connection number, message)
        self.pending: dict[
            int, list[tuple[int, mqtt.MQTTMessage]]
        ] = {}  # id(batch) -> its messages
        self.received = 0
        mqtt = settings_of(target.endpoint)
        self.mqtt_session = session_of(
            mqtt.broker,
            protocol=options.protocol,
            clean=False,
            expiry_s=options.session_expiry_s,
        )  # a persistent session
        self.client = make_client(target.client_id, self.mqtt_session, mqtt.tls)
        self.client.manual_ack_set(True)
        self.client.on_connect = lambda c, u, flags, rc, props: self.session.on_connect(
            c, target.topic, rc
        )
        self.client.on_disconnect = lambda c, u, flags, rc, props: self.session.on_disconnect(rc)
        self.client.on_subscribe = lambda c, u, mid, codes, props: self.session.on_subscribe(
            target.topic, codes
        )
        self.client.on_message = lambda c, u, msg: self.inbox.put((self.session.number, msg))
        self.client.reconnect_delay_set(0.5, 10)  # type: ignore[arg-type]  # paho takes a float (its stub says int)

    def open(self) -> None:
        try:
            self.client.connect(self.host, self.port, 30, **connect_kwargs(self.mqtt_session))
        except OSError as exc:
            raise ConfigError(
                f"cannot reach the MQTT broker at {self.target.address}: {exc}",
                hint="start the broker, or check --host/--port and TLS settings",
            ) from None
        self.client.loop_start()

    def wait_subscribed(self) -> None:
        """The broker accepted the session and granted the subscription, or a ConfigError
        saying why not."""
        deadline = time.monotonic() + self.target.connect_timeout_s
        session = self.session
        while (
            not session.subscribed.is_set() and not session.failure and time.monotonic() < deadline
        ):
            session.subscribed.wait(0.05)
        if session.failure or not session.subscribed.is_set():
            raise ConfigError(
                session.failure[0]
                if session.failure
                else f"the broker at {self.target.address} did not answer within {self.target.connect_timeout_s:g} s",
                hint="check --host/--port and TLS settings",
            )

    def subscribe_ahead(self) -> bool:
        """Connect under the persistent session, subscribe, leave: the broker keeps what is
        published from now on for the session's next reader."""
        self.open()
        try:
            self.wait_subscribed()
        finally:
            self.client.disconnect()
            self.client.loop_stop()
        return True

    def batches(self, stop: threading.Event) -> Iterator[Batch]:
        self.wait_subscribed()
        t = self.target
        if t.on_ready is not None:
            t.on_ready()
        started = last = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if (
                (t.duration_s and now - started >= t.duration_s)
                or (t.count and self.received >= t.count)
                or (t.idle_s and now - last >= t.idle_s)
            ):
                return
            taken = self._take(stop)
            if not taken:
                continue
            last = time.monotonic()
            self.received += len(taken)
            topics = [msg.topic for _, msg in taken]
            batch = message_batch(
                topics,
                [x.split("/")[self.at] for x in topics],
                [bytes(m.payload) for _, m in taken],
                int(time.time()),
            )
            self.pending[id(batch)] = taken
            yield batch

    def delivered(self, batch: Batch) -> None:
        for number, msg in self.pending.pop(id(batch), []):  # acknowledged only once committed
            # a message from an earlier connection is redelivered by the broker, and its
            # packet id may already name another message: only the copy is acked
            if number == self.session.number:
                self.client.ack(msg.mid, msg.qos)

    def close(self) -> dict[str, Any]:
        self.client.disconnect()
        self.client.loop_stop()
        return {
            "reconnects": max(0, self.session.number - 1),
            "warnings": [self.session.flapping] if self.session.flapping else [],
        }

    def _take(self, stop: threading.Event) -> list[tuple[int, mqtt.MQTTMessage]]:
        try:
            taken = [self.inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.options.batch_wait_s
        while len(taken) < self.options.batch_messages and not stop.is_set():
            try:
                taken.append(self.inbox.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return taken
