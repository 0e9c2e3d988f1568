"""The ``mqtt`` sink's ``--sink-option`` flags (what the command's own flags do not set)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from synthkit.api import SinkOptions

NEVER_EXPIRES = 0xFFFFFFFF  # MQTT 5's session expiry interval for "keep it until it is resumed"


class MqttOptions(SinkOptions):
    connect_timeout_s: float = Field(
        30.0, gt=0, description="seconds for every connection to be accepted"
    )
    protocol: Literal["3.1.1", "5"] = Field("3.1.1", description="MQTT protocol version")
    retain: bool = Field(
        False,
        description="publish with the retained flag (the broker keeps each topic's last message)",
    )
    clean_session: bool = Field(
        True, description="start each connection with a new session (false: resume the broker's)"
    )
    session_expiry_s: int = Field(
        0,
        ge=0,
        le=NEVER_EXPIRES,
        description="MQTT 5: how long the broker keeps a session after a disconnect",
    )


class MqttSourceOptions(SinkOptions):
    protocol: Literal["3.1.1", "5"] = Field("3.1.1", description="MQTT protocol version")
    session_expiry_s: int = Field(
        NEVER_EXPIRES,
        ge=1,
        le=NEVER_EXPIRES,
        description="MQTT 5: how long the broker keeps the listener's session while it is away",
    )
    batch_messages: int = Field(
        500, ge=1, le=100_000, description="messages handed to the sink at once, at most"
    )
    batch_wait_s: float = Field(0.1, ge=0, le=60, description="how long a batch waits to fill up")
