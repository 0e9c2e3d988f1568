"""The ``mqtt`` sink's ``--sink-option`` flags (what the command's own flags do not set)."""

from __future__ import annotations

from pydantic import Field

from synthkit.api import SinkOptions


class MqttOptions(SinkOptions):
    connect_timeout_s: float = Field(30.0, gt=0, description="seconds for every connection to be accepted")


class MqttSourceOptions(SinkOptions):
    batch_messages: int = Field(500, ge=1, le=100_000, description="messages handed to the sink at once, at most")
    batch_wait_s: float = Field(0.1, ge=0, le=60, description="how long a batch waits to fill up")
