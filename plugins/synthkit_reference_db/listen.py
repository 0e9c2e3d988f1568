"""``synthkit ingest listen``: the live counterpart of import-csv.

Subscribes (QoS 1, a persistent session under one client id) to the telemetry topic and feeds
every message through the ingestion contract in small batches. A message is acknowledged to
the broker only after the transaction holding it commits (paho's manual acks), so a listener
killed at any moment loses nothing: the broker re-delivers, and dedupe on
(mqtt_client_id, seq) keeps a re-delivery from being stored twice. Seq gaps per device are
reported at the end.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from synthkit.console import progress_bar
from synthkit.errors import ConfigError
from synthkit.interrupt import stop_on_signals
from synthkit_reference_db.ingest import Ingestor, TelemetryRows

BATCH_MESSAGES = 500
BATCH_WAIT_S = 0.1


class SeqTracker:
    """Distinct seqs seen per device; gaps are the missing seqs between each one's lowest and highest."""

    def __init__(self) -> None:
        self.seen: dict[str, set[int]] = {}

    def add(self, client: str, seq: int) -> None:
        self.seen.setdefault(client, set()).add(seq)

    def gaps(self, limit: int = 10) -> dict[str, dict[str, Any]]:
        out = {}
        for client, seqs in sorted(self.seen.items()):
            lo, hi = min(seqs), max(seqs)
            missing = hi - lo + 1 - len(seqs)
            if missing:
                first = [s for s in range(lo, hi + 1) if s not in seqs][:limit]
                out[client] = {"missing": missing, "first_missing": first}
        return out


def listen(
    engine: Any, *, host: str, port: int, tls: Any, topic: str, client_id: str,
    duration_s: float = 0.0, count: int = 0, idle_s: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    levels = topic.split("/")
    if levels.count("+") != 1 or "#" in levels:
        raise ConfigError(f"--topic {topic!r} must have exactly one '+' level, where the device id is",
                          hint="e.g. devices/+/telemetry")  # fmt: skip
    at = levels.index("+")
    ingestor = Ingestor(engine)
    ingestor.targets()  # a missing schema or an unreachable database fails now
    inbox: queue.Queue[tuple[int, mqtt.MQTTMessage]] = queue.Queue()  # (connection number, message)
    connected = threading.Event()
    connection = [0]  # bumped on every (re)connect
    failure: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.manual_ack_set(True)
    if tls is not None:
        client.tls_set_context(tls)

    def on_connect(c, u, flags, rc, props):  # noqa: ANN001, ANN202
        if rc.is_failure:
            failure.append(f"the broker at {host}:{port} refused the listener: {rc}")
        else:
            connection[0] += 1
            c.subscribe(topic, qos=1)  # again after every reconnect
            connected.set()

    client.on_connect = on_connect
    client.on_message = lambda c, u, msg: inbox.put((connection[0], msg))
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
            if not connected.wait(10) or failure:
                raise ConfigError(failure[0] if failure else f"the broker at {host}:{port} did not answer", hint="check --host/--port and TLS settings")
            while not stop.is_set():
                now = time.monotonic()
                if (duration_s and now - started >= duration_s) or (count and received >= count) \
                        or (idle_s and now - last_message >= idle_s):  # fmt: skip
                    break
                batch = _take(inbox, stop)
                if not batch:
                    continue
                last_message = time.monotonic()
                received += len(batch)
                bar.advance(len(batch))
                counts.update(_ingest(ingestor, [msg for _, msg in batch], seqs, at))
                for number, msg in batch:  # acknowledged only once committed
                    # a message from an earlier connection is redelivered by the broker, and
                    # its packet id may already name another message: only the copy is acked
                    if number == connection[0]:
                        client.ack(msg.mid, msg.qos)
        finally:
            client.disconnect()
            client.loop_stop()
    return {
        "command": "ingest listen",
        "topic": topic,
        "received": received,
        "status_counts": dict(sorted(counts.items())),
        "devices": len(seqs.seen),
        "seq_gaps": seqs.gaps(),
        "reconnects": max(0, connection[0] - 1),
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


def _ingest(ingestor: Ingestor, batch: list[mqtt.MQTTMessage], seqs: SeqTracker, at: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    rows: list[TelemetryRows] = []
    now = int(time.time())
    for msg in batch:
        client = msg.topic.split("/")[at]
        try:
            row = TelemetryRows.from_payload(client, json.loads(msg.payload), now)
        except ValueError as exc:  # bad JSON or a malformed payload: rejected with its reason
            reason = str(exc) if str(exc).startswith("BAD_PAYLOAD") else "BAD_PAYLOAD"
            counts[f"rejected:{reason.split(' ')[0]}"] += 1
            continue
        seqs.add(client, int(row.fields.seq[0]))
        rows.append(row)
    if rows:
        counts.update(ingestor.ingest(TelemetryRows.concat(rows)))
    return counts
