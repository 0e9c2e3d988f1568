"""The ``mqtt`` sink's ``--sink-option`` flags (what the command's own flags do not set)."""

from __future__ import annotations

from pydantic import Field

from synthkit.api import SinkOptions


class MqttOptions(SinkOptions):
    connect_timeout_s: float = Field(30.0, gt=0, description="seconds for every connection to be accepted")
