"""redis_psub: a source that hears a Redis pub/sub pattern, for ``ingest listen --source
redis_psub``: ``--topic prefix/+/telemetry`` becomes the pattern ``prefix/*/telemetry``,
the ``+`` level naming each message's device.

Pub/sub keeps nothing for a subscriber that is away: delivery is at most once, so there is
nothing to acknowledge in ``delivered``, and a reconcile then replay fills what was missed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from synthkit import hookimpl
from synthkit.api import (
    Batch,
    BrokerRequest,
    ConfigError,
    Endpoint,
    SinkOptions,
    Source,
    SourceSpec,
    SourceTarget,
    message_batch,
    plain_endpoint,
)


def resolve(request: BrokerRequest) -> Endpoint:
    return plain_endpoint("redis", request, default_port=6379)


def parse(buf: bytes | bytearray) -> tuple[list[bytes], int] | None:
    """(the parts of the RESP array at the start of ``buf``, bytes used), or None: not whole yet."""
    pos = buf.find(b"\r\n")
    if pos < 0:
        return None
    parts, pos = [], pos + 2
    for _ in range(int(buf[1 : pos - 2])):
        end = buf.find(b"\r\n", pos)
        if end < 0:
            return None
        head, pos = bytes(buf[pos:end]), end + 2
        if head[:1] != b"$":
            parts.append(head[1:])
            continue
        size = int(head[1:])
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos : pos + size]))
        pos += size + 2
    return parts, pos


class RedisPatternSource(Source):
    def __init__(self, target: SourceTarget, options: SinkOptions) -> None:
        url = urlsplit(target.endpoint.url)
        self.target, self.where = target, (url.hostname, url.port)
        self.level = target.client_level()  # which topic level names the device
        self.heard = 0

    def open(self) -> None:
        try:
            self.conn = socket.create_connection(self.where, timeout=5)
        except OSError as exc:
            raise ConfigError(f"cannot reach Redis at {self.target.address}: {exc}") from None
        self.buf = bytearray()
        pattern = self.target.topic.replace("+", "*").encode()
        self.conn.sendall(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(pattern), pattern))
        self._reply()  # the subscription is in place: what is published now reaches us
        self.conn.settimeout(0.2)  # so batches() sees its stop between messages
        if self.target.on_ready is not None:
            self.target.on_ready()

    def _reply(self) -> list[bytes]:
        """The next whole RESP array; a timeout leaves a partial one in the buffer."""
        while (parsed := parse(self.buf)) is None:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise ConfigError(f"Redis at {self.target.address} closed the connection")
            self.buf += chunk
        parts, used = parsed
        del self.buf[:used]
        return parts

    def batches(self, stop: threading.Event) -> Iterator[Batch]:
        t = self.target
        started = last = time.monotonic()
        while not stop.is_set():
            if t.duration_s and time.monotonic() - started >= t.duration_s:
                return
            if t.idle_s and time.monotonic() - last >= t.idle_s:
                return
            try:
                _, _, channel, payload = self._reply()
            except TimeoutError:
                continue
            topic = channel.decode()
            client = topic.split("/")[self.level]
            yield message_batch([topic], [client], [payload], [int(time.time())])
            self.heard, last = self.heard + 1, time.monotonic()
            if t.count and self.heard >= t.count:
                return

    def delivered(self, batch: Batch) -> None:
        """Pub/sub has no acknowledgement: nothing to do."""

    def close(self) -> dict[str, Any]:
        self.conn.close()
        return {"reconnects": 0, "warnings": []}


@hookimpl
def synthkit_register_sources() -> list[SourceSpec]:
    return [
        SourceSpec(
            "redis_psub",
            RedisPatternSource,
            endpoint=resolve,
            schemes=("redis",),  # `ingest listen --broker redis://HOST:PORT` picks this source
            description="a Redis pub/sub pattern (at most once: nothing kept while away)",
        )
    ]
