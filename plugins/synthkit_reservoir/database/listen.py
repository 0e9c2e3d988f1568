"""``synthkit ingest listen``: the live counterpart of import-csv.

Subscribes (QoS 1, a persistent session under one client id) to the telemetry topic and feeds
every message through the ingestion contract in small batches. A message is acknowledged to
the broker only after the transaction holding it commits (paho's manual acks), so a listener
killed at any moment loses nothing: the broker re-delivers, and dedupe on
(mqtt_client_id, seq) keeps a re-delivery from being stored twice.

Every message ends as exactly one of: stored, duplicate, or rejected:REASON. A rejected
message is kept whole in ``telemetry_rejects`` (topic, bytes, reason) before it is
acknowledged, so nothing a device sends can stop the listener or vanish. A database that is
busy or away (SQLite locked, PostgreSQL restarting) is waited for, batch unacknowledged.
Seq gaps per device are reported at the end.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections import Counter, deque
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from synthkit.api import ConfigError, progress_bar, stderr, stop_on_signals
from synthkit_reservoir.database.ingest import Ingestor
from synthkit_reservoir.database.intake import SeqTracker, ingest_batch, retrying

BATCH_MESSAGES = 500
BATCH_WAIT_S = 0.1
FLAP_COUNT, FLAP_WINDOW_S = 3, 60.0  # this many lost sessions in the window: someone shares our id


def default_client_id(shown_url: str, topic: str) -> str:
    """One persistent session per (database, subscription): two listeners of different
    databases never take each other's session or queued messages; a restarted listener of
    the same one resumes its own."""
    digest = hashlib.sha256(f"{shown_url}\n{topic}".encode()).hexdigest()[:12]
    return f"synthkit-listener-{digest}"


class _Session:
    """Connection bookkeeping from paho's thread: how many connections, why one failed, and
    whether the broker keeps taking the session away (another client with our id)."""

    def __init__(self, host: str, port: int, client_id: str) -> None:
        self.where, self.client_id = f"{host}:{port}", client_id
        self.number = 0  # bumped on every (re)connect
        self.connected = threading.Event()
        self.failure: list[str] = []
        self.lost: deque[float] = deque()
        self.flapping = ""

    def on_connect(self, client: mqtt.Client, topic: str, rc: Any) -> None:
        if rc.is_failure:
            self.failure.append(f"the broker at {self.where} refused the listener: {rc}")
            return
        self.number += 1
        client.subscribe(topic, qos=1)  # again after every reconnect
        self.connected.set()

    def on_disconnect(self, rc: Any) -> None:
        if not self.connected.is_set() and not self.failure:
            # closed before any CONNACK: the likely cause is a TLS port spoken to in plain MQTT
            self.failure.append(
                f"the broker at {self.where} closed the connection before accepting it ({rc}); "
                "if that port expects TLS, set a CA (SYNTHKIT_MQTT_CA) or SYNTHKIT_MQTT_TLS=1")
            return
        now = time.monotonic()
        self.lost.append(now)
        while self.lost and now - self.lost[0] > FLAP_WINDOW_S:
            self.lost.popleft()
        if len(self.lost) >= FLAP_COUNT and not self.flapping:
            self.flapping = (
                f"the broker took this listener's session away {len(self.lost)} times in "
                f"{FLAP_WINDOW_S:g} s: another client is probably connected with client id "
                f"{self.client_id!r}; give each listener its own --client-id")
            stderr().print(f"[yellow]warning:[/] {self.flapping}", highlight=False, soft_wrap=True)


def listen(
    engine: Any, *, host: str, port: int, tls: Any, topic: str, client_id: str,
    duration_s: float = 0.0, count: int = 0, idle_s: float = 0.0, connect_timeout_s: float = 10.0,
) -> dict[str, Any]:  # fmt: skip
    levels = topic.split("/")
    if levels.count("+") != 1 or "#" in levels:
        raise ConfigError(f"--topic {topic!r} must have exactly one '+' level, where the device id is",
                          hint="e.g. devices/+/telemetry")  # fmt: skip
    at = levels.index("+")
    ingestor = Ingestor(engine)
    inbox: queue.Queue[tuple[int, mqtt.MQTTMessage]] = queue.Queue()  # (connection number, message)
    session = _Session(host, port, client_id)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.manual_ack_set(True)
    if tls is not None:
        client.tls_set_context(tls)
    client.on_connect = lambda c, u, flags, rc, props: session.on_connect(c, topic, rc)
    client.on_disconnect = lambda c, u, flags, rc, props: session.on_disconnect(rc)
    client.on_message = lambda c, u, msg: inbox.put((session.number, msg))
    client.reconnect_delay_set(0.5, 10)
    try:
        client.connect(host, port, 30)
    except OSError as exc:
        raise ConfigError(f"cannot reach the MQTT broker at {host}:{port}: {exc}", hint="start the broker, or check --host/--port and TLS settings") from None
    client.loop_start()
    with stop_on_signals() as stop, progress_bar(f"listen <- {host}:{port}", count or None) as bar:
        counts: Counter[str] = Counter()
        seqs = SeqTracker()
        received = 0
        started = last_message = time.monotonic()
        try:
            # a schema that cannot dedupe fails now; a busy database is waited for
            if retrying(lambda: (ingestor.verify(), ingestor.targets()) and Counter(), stop) is None:
                return _summary(topic, client_id, 0, counts, seqs, session, started)
            deadline = started + connect_timeout_s
            while not session.connected.is_set() and not session.failure and time.monotonic() < deadline:
                session.connected.wait(0.05)
            if session.failure or not session.connected.is_set():
                raise ConfigError(session.failure[0] if session.failure else
                                  f"the broker at {host}:{port} did not answer within {connect_timeout_s:g} s",
                                  hint="check --host/--port and TLS settings")  # fmt: skip
            while not stop.is_set():
                now = time.monotonic()
                if (duration_s and now - started >= duration_s) or (count and received >= count) \
                        or (idle_s and now - last_message >= idle_s):  # fmt: skip
                    break
                batch = _take(inbox, stop)
                if not batch:
                    continue
                last_message = time.monotonic()
                outcome = retrying(lambda: ingest_batch(ingestor, [msg for _, msg in batch], seqs, at), stop)
                if outcome is None:  # stopped while the database was away: not acked, redelivered later
                    break
                received += len(batch)
                bar.advance(len(batch))
                counts.update(outcome)
                for number, msg in batch:  # acknowledged only once committed
                    # a message from an earlier connection is redelivered by the broker, and
                    # its packet id may already name another message: only the copy is acked
                    if number == session.number:
                        client.ack(msg.mid, msg.qos)
        finally:
            client.disconnect()
            client.loop_stop()
    return _summary(topic, client_id, received, counts, seqs, session, started)


def _summary(topic: str, client_id: str, received: int, counts: Counter[str], seqs: SeqTracker,
             session: _Session, started: float) -> dict[str, Any]:  # fmt: skip
    rejected = sum(v for k, v in counts.items() if k.startswith("rejected:"))
    return {
        "command": "ingest listen",
        "topic": topic,
        "client_id": client_id,
        "received": received,
        "status_counts": dict(sorted(counts.items())),
        "rejects_stored": rejected,
        "devices": len(seqs.seen),
        "seq_gaps": seqs.gaps(),
        "reconnects": max(0, session.number - 1),
        "warnings": [session.flapping] if session.flapping else [],
        "elapsed_seconds": round(time.monotonic() - started, 3),
    }


def _take(inbox: queue.Queue, stop: threading.Event) -> list[tuple[int, mqtt.MQTTMessage]]:
    try:
        batch = [inbox.get(timeout=0.2)]
    except queue.Empty:
        return []
    deadline = time.monotonic() + BATCH_WAIT_S
    while len(batch) < BATCH_MESSAGES and not stop.is_set():
        try:
            batch.append(inbox.get(timeout=max(0.0, deadline - time.monotonic())))
        except queue.Empty:
            break
    return batch
