"""One way to make and connect a paho client, for the publishers (the pool) and the listener:
protocol version (3.1.1 or 5), clean or resumed session (and MQTT 5's session expiry),
credentials, TLS."""

from __future__ import annotations

import ssl
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass(frozen=True)
class Session:
    """How a client talks to the broker."""

    protocol: str = "3.1.1"  # or "5"
    clean: bool = True  # a new session on every connect; False: resume the broker's
    expiry_s: int = 0  # MQTT 5: seconds the broker keeps the session after a disconnect
    username: str | None = None
    password: str | None = None

    @property
    def v5(self) -> bool:
        return self.protocol == "5"


def make_client(client_id: str, session: Session, tls: ssl.SSLContext | None) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=None if session.v5 else session.clean,
        protocol=mqtt.MQTTv5 if session.v5 else mqtt.MQTTv311,
    )
    if session.username is not None:
        client.username_pw_set(session.username, session.password)
    if tls is not None:
        client.tls_set_context(tls)
    return client


def connect_kwargs(session: Session) -> dict[str, Any]:
    """The rest of ``client.connect(host, port, keepalive, **connect_kwargs(session))``;
    paho keeps them for its reconnects."""
    if not session.v5:
        return {}
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session.expiry_s
    return {"clean_start": session.clean, "properties": props}


def session_of(settings: Any, *, protocol: str, clean: bool, expiry_s: int) -> Session:
    """A :class:`Session` from broker settings (``synthkit.api.BrokerSettings``, for the
    credentials; None: anonymous) and the plugin's options."""
    return Session(
        protocol,
        clean,
        expiry_s,
        getattr(settings, "username", None),
        getattr(settings, "password", None),
    )


FLAP_COUNT, FLAP_WINDOW_S = 3, 60.0  # this many lost sessions in the window: someone shares our id


@dataclass
class Flaps:
    """When the broker keeps taking one client's connection away: another client is connected
    with the same client id (the broker closes the older one; each then reconnects)."""

    lost: deque[float] = field(default_factory=deque)

    def lost_now(self) -> bool:
        """Count a lost connection; True once this client flaps."""
        now = time.monotonic()
        self.lost.append(now)
        while self.lost and now - self.lost[0] > FLAP_WINDOW_S:
            self.lost.popleft()
        return len(self.lost) >= FLAP_COUNT


def taken_over(kind: str, client_id: str, times: int) -> str:
    """The warning for a client id another client shares."""
    return (
        f"the broker took {kind} {client_id!r}'s connection away {times} times in {FLAP_WINDOW_S:g} s: another "
        f"client is probably connected with client id {client_id!r}"
    )
