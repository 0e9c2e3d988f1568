"""The ``mqtt`` sink: every row of a batch becomes one message, published by its device's own
connection (client_id = device id) to a topic from a template, QoS 1 by default.

What a row's message holds is the family's business: ``messages(batch)`` returns, per row,
the client's index, the payload bytes and the seq (the reservoir family writes the section 10
payload; the default publishes the row itself as a JSON object). The sink counts, per
device, what was emitted, acknowledged by the broker, and failed.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence

import numpy as np

from synthkit.batch import Batch
from synthkit.encode import Encoder
from synthkit.errors import ConfigError
from synthkit.records import SinkReport
from synthkit_mqtt.pool import BrokerError, ConnectionPool, Counts

Messages = Callable[[Batch], tuple[np.ndarray, list[bytes], np.ndarray]]
DEFAULT_TOPIC = "devices/{device_id}/telemetry"


def json_rows(client_column: str, clients: Sequence[str]) -> Messages:
    """Each row as a JSON object (the same bytes as a JSON-lines file's line), published by
    the client named in the row's ``client_column``. Its seq is the row's ``seq`` column, or
    else the client's running message count (0, 1, 2, ...)."""
    encoder = Encoder("jsonl", threads=1)
    index = {c: i for i, c in enumerate(clients)}
    sent = np.zeros(len(clients), np.int64)  # messages per client so far

    def messages(batch: Batch) -> tuple[np.ndarray, list[bytes], np.ndarray]:
        col = batch.column(client_column)
        codes = np.array([index[str(label)] for label in col.labels], np.int64)[col.values]
        lines = encoder.encode_bytes(batch).split(b"\n")[:-1]
        if "seq" in batch.names:
            seq = np.asarray(batch.column("seq").values, np.int64)
        else:
            seq = sent[codes] + _rank_within(codes)
            np.add.at(sent, codes, 1)
        return codes, lines, seq

    return messages


def _rank_within(codes: np.ndarray) -> np.ndarray:
    """For each row, how many earlier rows of the batch have the same code."""
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    lengths = np.diff(np.r_[starts, codes.size])
    rank = np.empty(codes.size, np.int64)
    rank[order] = np.arange(codes.size) - np.repeat(starts, lengths)
    return rank


def topics_for(template: str, client_column: str, clients: Sequence[str]) -> list[str]:
    """Each client's topic; a template that names anything but the client is a ConfigError."""
    if "{" + client_column + "}" not in template:
        raise ConfigError(f"topic template {template!r} has no {{{client_column}}}",
                          hint=f"e.g. devices/{{{client_column}}}/telemetry")  # fmt: skip
    try:
        topics = [template.format(**{client_column: c}) for c in clients]
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"topic template {template!r} is not usable ({type(exc).__name__}: {exc})",
                          hint=f"the only placeholder is {{{client_column}}}; write a literal brace as {{{{ or }}}}") from None  # fmt: skip
    bad = next((t for t in topics if "+" in t or "#" in t or not t), None)
    if bad is not None:
        raise ConfigError(f"topic {bad!r} (from {template!r}) is not a publishable MQTT topic",
                          hint="a topic to publish on has no '+' or '#' wildcards")  # fmt: skip
    return topics


class MqttSink:
    def __init__(
        self,
        target: str,
        *,
        clients: Sequence[str],
        messages: Messages | None = None,
        topic: str = DEFAULT_TOPIC,
        qos: int = 1,
        tls: ssl.SSLContext | None = None,
        client_column: str = "device_id",
        client_id_prefix: str = "",
        drain_timeout_s: float = 30.0,
        connect_timeout_s: float = 30.0,
    ) -> None:
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"MQTT broker {target!r} is not host:port", hint="e.g. 127.0.0.1:1883")
        if qos not in (0, 1):
            raise ConfigError(f"QoS {qos} is not supported", hint="use 0 or 1")
        self.target = target
        self.clients = list(clients)
        self.topics = topics_for(topic, client_column, self.clients)
        self.messages = messages or json_rows(client_column, self.clients)
        self.drain_timeout_s, self.connect_timeout_s = drain_timeout_s, connect_timeout_s
        # client_id = the device's id (the identity contract); a prefix keeps fleets apart
        self.pool = ConnectionPool([client_id_prefix + c for c in self.clients], host, int(port), tls=tls, qos=qos)
        self.records = 0
        self.bytes = 0
        self.last_seq = np.full(len(self.clients), -1, np.int64)  # highest seq handed to paho
        self.drained = True

    def open(self, columns: tuple[str, ...]) -> None:
        try:
            self.pool.connect(self.connect_timeout_s)
        except BrokerError as exc:
            self.pool.close()
            raise ConfigError(str(exc), hint="check the broker address, port and TLS settings (scenario mqtt block or SYNTHKIT_MQTT_*)") from None

    def write(self, batch: Batch) -> None:
        codes, payloads, seqs = self.messages(batch)
        index = codes.tolist()
        topics = self.topics
        self.pool.publish([(i, topics[i], p, s) for i, p, s in zip(index, payloads, seqs.tolist())])
        self.bytes += sum(map(len, payloads))
        np.maximum.at(self.last_seq, codes, seqs)
        self.records += batch.n

    def close(self) -> SinkReport:
        self.drained = self.pool.drain(self.drain_timeout_s)
        self.pool.close()
        t = self.pool.totals()
        outcomes = {"emitted": t.emitted, "acknowledged": t.acknowledged, "failed": t.failed, "reconnects": t.reconnects}
        return SinkReport("mqtt", self.records, self.bytes, self.target, outcomes)

    def abort(self) -> None:
        # interrupted: what was handed over still gets its bounded chance to be acknowledged
        self.close()

    def per_device(self) -> dict[str, Counts]:
        return {c: conn.counts for c, conn in zip(self.clients, self.pool.conns)}
