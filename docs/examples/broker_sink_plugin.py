"""redis_pubsub: a broker sink that PUBLISHes each row to a Redis channel, one connection per
client, and claims ``redis://`` URLs: ``synthkit live --broker redis://127.0.0.1:6379``.

Its address is its own: ``endpoint`` resolves what the command knows (the URL, or --host and
--port, or the scenario's broker block) with Redis's default port, never MQTT's. Speaks RESP
over a socket, so it needs no client library; a reply to PUBLISH is the broker's ack."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from synthkit import hookimpl
from synthkit.api import (
    Batch,
    BrokerRequest,
    BrokerSink,
    BrokerTarget,
    ConfigError,
    Encoder,
    Endpoint,
    SinkOptions,
    SinkReport,
    SinkSpec,
    plain_endpoint,
)


class RedisOptions(SinkOptions):
    timeout_s: float = Field(5.0, gt=0, le=300)  # --sink-option timeout_s=10


def resolve(request: BrokerRequest) -> Endpoint:
    return plain_endpoint("redis", request, default_port=6379)


def command(*parts: bytes) -> bytes:
    """One RESP command: an array of bulk strings."""
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


class RedisPubSub(BrokerSink):
    def __init__(self, target: BrokerTarget, options: RedisOptions) -> None:
        url = urlsplit(target.endpoint.url)
        self.where, self.target, self.options = (url.hostname, url.port), target, options
        self.counts = {
            c: dict(emitted=0, acknowledged=0, failed=0, reconnects=0) for c in target.clients
        }
        self.conns: dict[str, tuple[socket.socket, Any]] = {}

    def open(self, columns: tuple[str, ...]) -> None:
        for client in self.target.clients:  # each client its own connection, or none at all
            try:
                conn = socket.create_connection(self.where, timeout=self.options.timeout_s)
            except OSError as exc:
                self.abort()
                raise ConfigError(
                    f"cannot reach Redis at {self.target.address}: {exc}",
                    hint="start it, or give --broker redis://HOST:PORT",
                ) from None
            self.conns[client] = (conn, conn.makefile("rb"))
        json_lines = Encoder("jsonl", threads=1)
        self.payloads = self.target.payloads or (
            lambda b: json_lines.encode_bytes(b).split(b"\n")[:-1]
        )

    def write(self, batch: Batch) -> None:
        column, name = batch.column(self.target.client_column), self.target.client_column
        clients = [column.labels[v] for v in column.values]
        sent: dict[str, int] = {}
        for client, payload in zip(clients, self.payloads(batch)):
            channel = self.target.topic.format(**{name: client}).encode()
            self.conns[client][0].sendall(command(b"PUBLISH", channel, payload))
            sent[client] = sent.get(client, 0) + 1
        for client, n in sent.items():  # pipelined: the replies, in order, are the acks
            self.counts[client]["emitted"] += n
            for _ in range(n):
                ok = self.conns[client][1].readline().startswith(b":")
                self.counts[client]["acknowledged" if ok else "failed"] += 1

    def close(self) -> SinkReport:
        self.abort()
        totals = {k: sum(c[k] for c in self.counts.values()) for k in ("emitted", "acknowledged")}
        return SinkReport("redis_pubsub", records=totals["emitted"], outcomes=totals)

    def abort(self) -> None:
        for conn, reader in self.conns.values():
            reader.close()
            conn.close()
        self.conns.clear()

    def per_client(self) -> dict[str, dict[str, int]]:
        return self.counts

    def summary(self) -> dict[str, Any]:
        totals = {
            k: sum(c[k] for c in self.counts.values())
            for k in ("emitted", "acknowledged", "failed")
        }
        done = totals["acknowledged"] == totals["emitted"]
        warnings = (
            []
            if done
            else [f"{totals['emitted'] - totals['acknowledged']} message(s) not acknowledged"]
        )
        return {**totals, "reconnects": 0, "broker_acknowledged_all": done, "warnings": warnings}


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [
        SinkSpec(
            "redis_pubsub",
            RedisPubSub,
            kind="broker",
            options=RedisOptions,
            schemes=("redis",),
            endpoint=resolve,
            description="Redis pub/sub: each row PUBLISHed on its client's channel",
        )
    ]
