"""The ``mqtt`` sink: every row of a batch becomes one message, published by its device's own
connection (client_id = device id) to a topic from a template, QoS 1 by default.

Which connection sends a row is the row's ``client_column`` label; what the message holds is
the family's business: ``payloads(batch)`` returns one payload per row (the reservoir family
writes the section 10 payload; the default publishes the row itself as its JSON line). The
sink counts, per client, what was emitted, acknowledged by the broker, and failed.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from synthkit.api import Batch, BrokerSink, ConfigError, Encoder, SinkReport
from synthkit_mqtt.client import Session, taken_over
from synthkit_mqtt.pool import BrokerError, ConnectionPool

Payloads = Callable[[Batch], list[bytes]]  # one payload per row, in row order
DEFAULT_TOPIC = "devices/{device_id}/telemetry"


def json_payloads() -> Payloads:
    """Each row as its JSON object: the same bytes as the row's line in a JSON-lines file."""
    encoder = Encoder("jsonl", threads=1)
    return lambda batch: encoder.encode_bytes(batch).split(b"\n")[:-1]


def topics_for(template: str, client_column: str, clients: Sequence[str]) -> list[str]:
    """Each client's topic; a template that names anything but the client is a ConfigError."""
    if "{" + client_column + "}" not in template:
        raise ConfigError(
            f"topic template {template!r} has no {{{client_column}}}",
            hint=f"e.g. devices/{{{client_column}}}/telemetry",
        )
    try:
        topics = [template.format(**{client_column: c}) for c in clients]
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"topic template {template!r} is not usable ({type(exc).__name__}: {exc})",
            hint=f"the only placeholder is {{{client_column}}}; write a literal brace as {{{{ or }}}}",
        ) from None
    bad = next((t for t in topics if not publishable(t)), None)
    if bad is not None:
        raise ConfigError(
            f"topic {bad[:80]!r} (from {template[:80]!r}) is not a publishable MQTT topic",
            hint=f"a topic to publish on is 1..{MAX_MQTT_STRING} bytes with no '+' or '#' wildcards and no NUL",
        )
    if len(set(topics)) < len(topics):  # 'devices/{{device_id}}/x' formats to one literal topic
        raise ConfigError(
            f"topic template {template!r} gives several clients the same topic",
            hint=f"name each client with {{{client_column}}} (a doubled brace is a literal one)",
        )
    return topics


MAX_MQTT_STRING = 65_535  # bytes: an MQTT string (topic, client id) has a 16-bit length


def mqtt_string(text: str) -> bool:
    """Whether ``text`` fits an MQTT UTF-8 string: at most 65,535 bytes, no NUL."""
    return "\0" not in text and len(text.encode("utf-8", "surrogatepass")) <= MAX_MQTT_STRING


def publishable(text: str) -> bool:
    """A topic a client may publish on (MQTT 3.1.1 / 5: 4.7): a non-empty MQTT string with no
    wildcard."""
    return bool(text) and "+" not in text and "#" not in text and mqtt_string(text)


def check_client_ids(ids: Sequence[str]) -> None:
    """Every client id fits an MQTT string (paho fails deep in its thread on a longer one)."""
    bad = next((c for c in ids if not mqtt_string(c)), None)
    if bad is not None:
        raise ConfigError(
            f"client id {bad[:60]!r}... ({len(bad)} characters) is not an MQTT client id",
            hint=f"an MQTT client id is at most {MAX_MQTT_STRING} bytes with no NUL",
        )


class MqttSink(BrokerSink):
    def __init__(
        self,
        target: str,
        *,
        clients: Sequence[str],
        payloads: Payloads | None = None,
        topic: str = DEFAULT_TOPIC,
        qos: int = 1,
        tls: ssl.SSLContext | None = None,
        client_column: str = "device_id",
        client_id_prefix: str = "",
        drain_timeout_s: float = 30.0,
        connect_timeout_s: float = 30.0,
        retain: bool = False,
        session: Session | None = None,
    ) -> None:
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(
                f"MQTT broker {target!r} is not host:port", hint="e.g. 127.0.0.1:1883"
            )
        if qos not in (0, 1, 2):
            raise ConfigError(f"QoS {qos} is not an MQTT QoS", hint="use 0, 1 or 2")
        self.target = target
        self.clients = list(clients)
        check_client_ids([client_id_prefix + c for c in self.clients])
        self.topics = topics_for(topic, client_column, self.clients)
        self.payloads = payloads or json_payloads()
        self.client_column = client_column
        self._index = {c: i for i, c in enumerate(self.clients)}
        self.drain_timeout_s, self.connect_timeout_s = drain_timeout_s, connect_timeout_s
        # client_id = the device's id (the identity contract); a prefix keeps fleets apart
        self.pool = ConnectionPool(
            [client_id_prefix + c for c in self.clients],
            host,
            int(port),
            tls=tls,
            qos=qos,
            retain=retain,
            session=session,
        )
        self.records = 0
        self.bytes = 0
        self.drained = True

    def open(self, columns: tuple[str, ...]) -> None:
        try:
            self.pool.connect(self.connect_timeout_s)
        except BrokerError as exc:
            self.pool.close()
            raise ConfigError(
                str(exc),
                hint="check the broker address, port and TLS settings (scenario mqtt block or SYNTHKIT_MQTT_*)",
            ) from None

    def write(self, batch: Batch) -> None:
        col = batch.column(self.client_column)  # each row goes out on its client's connection
        # a label list may name more clients than this run connects (a shard's rows carry the
        # whole fleet's labels): only the rows' own must be known
        rows = np.array([self._index.get(str(label), -1) for label in col.labels], np.int64)[
            col.values
        ]
        if (rows < 0).any():
            stray = str(col.labels[int(col.values[np.flatnonzero(rows < 0)[0]])])
            raise ConfigError(
                f"a row of {self.client_column} {stray!r}, which is not one of this run's clients",
                hint="give the sink's target every client its rows name",
            )
        index = rows.tolist()
        payloads = self.payloads(batch)
        topics = self.topics
        self.pool.publish([(i, topics[i], p) for i, p in zip(index, payloads)])
        self.bytes += sum(map(len, payloads))
        self.records += batch.n

    def close(self) -> SinkReport:
        self.drained = self.pool.drain(self.drain_timeout_s)
        self.pool.close()
        return SinkReport("mqtt", self.records, self.bytes, self.target, asdict(self.pool.totals()))

    def abort(self) -> None:
        # interrupted: what was handed over still gets its bounded chance to be acknowledged
        self.close()

    def per_client(self) -> dict[str, dict[str, int]]:
        """emitted / acknowledged / failed / reconnects for each client."""
        return {c: asdict(conn.counts) for c, conn in zip(self.clients, self.pool.conns)}

    def summary(self) -> dict[str, Any]:
        """The totals a live command reports, after :meth:`close`, with ``warnings``: what
        makes the run incomplete (messages the broker never acknowledged). An acknowledgement
        says the broker took a message, not that a subscriber stored it: what was stored is
        for ``synthkit reconcile`` to say."""
        totals = asdict(self.pool.totals())
        done = self.drained and totals["failed"] == 0
        missing = totals["emitted"] - totals["acknowledged"]
        warnings = (
            []
            if done
            else [
                f"{missing} of {totals['emitted']} message(s) were not acknowledged by the broker "
                "(failed or still waiting at the end): they may not have arrived"
            ]
        )
        taken = self.pool.taken_over
        if taken:  # each client's id is its stream's: another publisher of the same streams
            first = min(taken)
            more = f" (and {len(taken) - 1} other client(s))" if len(taken) > 1 else ""
            warnings.append(
                taken_over("client", self.clients[first], taken[first])
                + more
                + "; stop the other publisher, or publish other device ids"
            )
        return {**totals, "broker_acknowledged_all": done, "warnings": warnings}
