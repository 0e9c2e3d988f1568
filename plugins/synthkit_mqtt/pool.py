"""Many MQTT connections (one per device, client_id = device id) driven by one thread.

paho-mqtt's own loops use a thread (``loop_start``) or a blocking call (``loop_forever``) per
client; 10,000 devices need neither 10,000 threads nor 10,000 selects. paho 2.x supports an
external event loop: it reports sockets through ``on_socket_*`` callbacks and we call
``loop_read``/``loop_write``/``loop_misc``. Every paho call happens on the pool's thread, so
no client is ever touched by two threads; other threads hand work over through a queue.

Nothing is dropped silently:
- a QoS 1 or 2 message stays in paho's session until its PUBACK (PUBCOMP), and paho re-sends
  it after a reconnect; the pool counts it acknowledged only then;
- each client has at most ``per_client_limit`` messages in paho (well inside its 65,535
  message ids, which it would reuse without looking); more wait in the client's backlog, and
  :meth:`publish` blocks while the whole pool has ``limit`` outstanding, so memory stays
  bounded however long the broker is away;
- a QoS 0 message that could not be written is counted failed.
"""

from __future__ import annotations

import collections
import random
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from synthkit_mqtt.client import Flaps, Session, connect_kwargs, make_client

_MISC_EVERY_S = 1.0  # keepalive pings and paho's retry timers

Message = tuple[int, str, bytes]  # client index, topic, payload


class BrokerError(Exception):
    """The broker could not be reached or refused us (before anything was published)."""


@dataclass
class Counts:
    emitted: int = 0
    acknowledged: int = 0
    failed: int = 0
    reconnects: int = 0


@dataclass(eq=False)  # hashed by identity: kept in sets
class _Conn:
    index: int
    client: mqtt.Client
    counts: Counts = field(default_factory=Counts)
    outstanding: set[int] = field(default_factory=set)  # mids of QoS 1 messages awaiting PUBACK
    # handed over while ``outstanding`` was full: published as acknowledgements free room
    backlog: collections.deque[tuple[str, bytes]] = field(default_factory=collections.deque)
    connected: bool = False
    ever_connected: bool = False
    watching_write: bool = False  # EVENT_WRITE registered: the socket buffer was full
    error: str = ""
    retry_at: float = 0.0
    backoff: float = 0.0
    flaps: Flaps | None = None  # made at its first lost connection


class ConnectionPool:
    def __init__(
        self,
        client_ids: list[str],
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        qos: int = 1,
        retain: bool = False,
        session: Session | None = None,
        keepalive: int = 60,
        limit: int = 100_000,
        per_client_limit: int = 1_000,
        reconnect_max_s: float = 30.0,
    ) -> None:
        self.host, self.port, self.qos, self.retain, self.keepalive = (
            host,
            port,
            qos,
            retain,
            keepalive,
        )
        self.session = session or Session()
        self.limit, self.per_client_limit, self.reconnect_max_s = (
            limit,
            per_client_limit,
            reconnect_max_s,
        )
        self.selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._requests: collections.deque[list[Message] | Callable[[], None]] = collections.deque()
        self._space = threading.Condition()
        self._outstanding = 0  # published, not yet acknowledged or failed (all clients)
        self._settled = 0  # acknowledged or failed on the pool thread, not yet subtracted
        self._dirty: set[_Conn] = set()  # clients with packets queued in paho, to write out
        self._room: set[_Conn] = (
            set()
        )  # clients with a backlog whose messages were just acknowledged
        self._closing = False
        self.taken_over: dict[int, int] = {}  # client index -> lost connections in the flap window
        self._stop = False
        self._jitter = random.Random()
        self.conns = [self._make(i, cid, tls) for i, cid in enumerate(client_ids)]
        self._thread = threading.Thread(target=self._run, name="mqtt-pool", daemon=True)

    # ------------------------------------------------------------------ caller's side

    def connect(self, timeout: float = 30.0) -> None:
        """Connect every client; raises :class:`BrokerError` naming the first failure."""
        self._thread.start()
        self._call(lambda: self._open_all())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            failed = next((c for c in self.conns if c.error), None)
            if failed is not None:
                raise BrokerError(failed.error)
            if all(c.connected for c in self.conns):
                return
            time.sleep(0.01)
        waiting = sum(not c.connected for c in self.conns)
        raise BrokerError(
            f"{waiting} of {len(self.conns)} connection(s) to {self.host}:{self.port} not accepted within {timeout:g} s"
        )

    def publish(self, messages: list[Message]) -> None:
        """Queue (client index, topic, payload) messages; blocks while the pool is at its
        limit. One hand-over per call, so callers pass a batch."""
        for start in range(0, len(messages), self.limit):
            part = messages[start : start + self.limit]
            with self._space:
                while self._outstanding + len(part) > self.limit and not self._stop:
                    self._space.wait(0.5)
                self._outstanding += len(part)
            self._requests.append(part)
            self._wake()

    def drain(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until every message is acknowledged or failed."""
        deadline = time.monotonic() + timeout
        with self._space:
            while self._outstanding > 0 and time.monotonic() < deadline:
                self._space.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            return self._outstanding == 0

    def close(self) -> None:
        """Disconnect everyone; messages still unacknowledged count as failed."""
        if self._thread.is_alive():
            self._call(self._disconnect_all)
            self._stop = True
            self._wake()
            self._thread.join(timeout=10)
        for c in self.conns:
            c.counts.failed += len(c.outstanding) + len(c.backlog)
            c.outstanding.clear()
            c.backlog.clear()
        self.selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # ------------------------------------------------------------------- pool thread

    def _make(self, index: int, client_id: str, tls: ssl.SSLContext | None) -> _Conn:
        client = make_client(client_id, self.session, tls)
        conn = _Conn(index, client)
        client.max_inflight_messages_set(20)
        client.on_connect = lambda c, u, flags, rc, props: self._on_connect(conn, rc)
        client.on_disconnect = lambda c, u, flags, rc, props: self._on_disconnect(conn, rc)
        if self.qos:  # QoS 0 is settled when written; paho's per-message callback would cost ~15 us
            client.on_publish = lambda c, u, mid, rc, props: self._on_publish(conn, mid)
        client.on_socket_open = lambda c, u, sock: self._watch(sock, conn)
        client.on_socket_close = lambda c, u, sock: self._forget(sock, conn)
        # paho announces queued packets; they are written after the current pass (_flush)
        client.on_socket_register_write = lambda c, u, sock: self._dirty.add(conn)
        return conn

    def _open(self, conn: _Conn) -> None:
        try:
            conn.client.connect(
                self.host, self.port, self.keepalive, **connect_kwargs(self.session)
            )
        except ssl.SSLError as exc:
            conn.error = f"TLS handshake with {self.host}:{self.port} failed: {exc.reason or exc}"
        except OSError as exc:
            if conn.connected or self._closing:
                return
            if not any(c.connected for c in self.conns) and not conn.retry_at:
                conn.error = f"cannot reach the MQTT broker at {self.host}:{self.port}: {exc.strerror or exc}"
            else:
                self._schedule_retry(conn)

    def _run(self) -> None:
        next_misc = time.monotonic() + _MISC_EVERY_S
        while not self._stop:
            now = time.monotonic()
            timeout = 0.0 if self._dirty else max(0.0, next_misc - now)
            for key, mask in self.selector.select(timeout):
                conn = key.data
                if conn is None:
                    self._drain_wake()
                    continue
                if mask & selectors.EVENT_READ:
                    conn.client.loop_read()
                if mask & selectors.EVENT_WRITE:
                    self._dirty.add(conn)
            self._serve_requests()
            self._serve_backlogs()
            while self._dirty:
                self._flush(self._dirty.pop())
            self._settle()
            now = time.monotonic()
            if now >= next_misc:
                next_misc = now + _MISC_EVERY_S
                for conn in self.conns:
                    conn.client.loop_misc()
                    if (
                        not conn.connected
                        and conn.retry_at
                        and now >= conn.retry_at
                        and not self._closing
                    ):
                        conn.retry_at = 0.0
                        conn.counts.reconnects += 1
                        self._reconnect(conn)

    def _flush(self, conn: _Conn) -> None:
        """Write what paho queued for ``conn`` now (the socket is almost always writable);
        only a full socket buffer costs a selector registration."""
        if conn.client.socket() is None:
            return
        conn.client.loop_write()
        self._dirty.discard(conn)  # loop_write re-announces what it could not write
        want = conn.client.want_write()
        if want != conn.watching_write:
            self._interest(conn, want)

    def _serve_requests(self) -> None:
        limit = self.per_client_limit
        while self._requests:
            item = self._requests.popleft()
            if callable(item):
                item()
                continue
            for index, topic, payload in item:
                conn = self.conns[index]
                conn.counts.emitted += 1
                if conn.backlog or len(conn.outstanding) >= limit:
                    # paho reuses message ids past 65,535 without looking: never let it get there
                    conn.backlog.append((topic, payload))
                else:
                    self._send(conn, topic, payload)

    def _serve_backlogs(self) -> None:
        room, self._room = self._room, set()
        for conn in room:
            while conn.backlog and len(conn.outstanding) < self.per_client_limit:
                self._send(conn, *conn.backlog.popleft())

    def _send(self, conn: _Conn, topic: str, payload: bytes) -> None:
        info = conn.client.publish(topic, payload, qos=self.qos, retain=self.retain)
        if self.qos == 0:
            # written, or refused (no connection): either way nothing stays outstanding
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                conn.counts.acknowledged += 1
            else:
                conn.counts.failed += 1
            self._settled += 1
        elif info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            conn.outstanding.add(info.mid)  # kept by paho; (re)sent once connected
        else:  # paho's queue is full: never silently
            conn.counts.failed += 1
            self._settled += 1

    def _reconnect(self, conn: _Conn) -> None:
        try:
            conn.client.reconnect()
        except OSError:
            self._schedule_retry(conn)

    def _schedule_retry(self, conn: _Conn) -> None:
        # exponential backoff with full jitter: 10,000 clients must not reconnect in step
        conn.backoff = min(self.reconnect_max_s, max(0.5, conn.backoff * 2))
        conn.retry_at = time.monotonic() + self._jitter.uniform(0.1, conn.backoff)

    def _disconnect_all(self) -> None:
        self._closing = True
        for conn in self.conns:
            if conn.connected:
                conn.client.disconnect()
                conn.client.loop_write()

    # --------------------------------------------------------------------- callbacks

    def _on_connect(self, conn: _Conn, rc: object) -> None:
        if getattr(rc, "is_failure", False):
            conn.error = f"the broker at {self.host}:{self.port} refused client {conn.client._client_id.decode()}: {rc}"
            return
        conn.connected, conn.ever_connected, conn.backoff = True, True, 0.0

    def _on_disconnect(self, conn: _Conn, rc: object) -> None:
        conn.connected = False
        if conn.error:  # refused in its CONNACK (bad credentials...): that is the reason to report
            return
        if (
            not conn.ever_connected
            and not self._closing
            and not any(c.ever_connected for c in self.conns)
        ):
            # closed before any CONNACK, and no one got in: the likely cause is a TLS port
            # spoken to in plain MQTT, which the broker drops at once (no use waiting)
            conn.error = (
                f"the broker at {self.host}:{self.port} closed the connection before accepting it "
                f"({rc}); if that port expects TLS, set a CA (SYNTHKIT_MQTT_CA or the scenario's "
                "mqtt.ca_path) or SYNTHKIT_MQTT_TLS=1"
            )
            return
        if not self._closing:
            conn.flaps = conn.flaps or Flaps()
            if conn.flaps.lost_now():
                self.taken_over[conn.index] = len(conn.flaps.lost)
            self._schedule_retry(conn)

    def _on_publish(self, conn: _Conn, mid: int) -> None:
        if self.qos == 0:
            return
        if mid in conn.outstanding:
            conn.outstanding.discard(mid)
            conn.counts.acknowledged += 1
            self._settled += 1
            if conn.backlog:
                self._room.add(conn)  # published after this pass, outside paho's callback

    # ----------------------------------------------------------------------- helpers

    def _settle(self) -> None:
        """Free the space of messages settled in this pass (one lock per pass, not per ack)."""
        if self._settled:
            with self._space:
                self._outstanding -= self._settled
                self._settled = 0
                self._space.notify_all()

    def _watch(self, sock: mqtt.SocketLike, conn: _Conn) -> None:
        conn.watching_write = False
        self.selector.register(sock, selectors.EVENT_READ, conn)

    def _interest(self, conn: _Conn, write: bool) -> None:
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if write else 0)
        sock = conn.client.socket()
        if sock is None:  # closed meanwhile: _forget has unregistered it
            return
        try:
            self.selector.modify(sock, events, conn)
            conn.watching_write = write
        except (KeyError, ValueError):
            pass

    def _forget(self, sock: mqtt.SocketLike, conn: _Conn) -> None:
        conn.watching_write = False
        self._dirty.discard(conn)
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _open_all(self) -> None:
        for conn in self.conns:
            self._open(conn)

    def _call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the pool thread and wait for it."""
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self._requests.append(run)
        self._wake()
        done.wait()

    def totals(self) -> Counts:
        total = Counts()
        for c in self.conns:
            total.emitted += c.counts.emitted
            total.acknowledged += c.counts.acknowledged
            total.failed += c.counts.failed
            total.reconnects += c.counts.reconnects
        return total
