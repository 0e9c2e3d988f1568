"""Registers the ``mqtt`` sink."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import SinkSpec


def _factory(target: str, **options: object):
    from synthkit_mqtt.sink import MqttSink

    return MqttSink(target, **options)  # type: ignore[arg-type]


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [
        SinkSpec(
            kind="broker",
            name="mqtt",
            factory=_factory,
            description="an MQTT broker: one connection per device (client_id = device id), QoS 1, acks tracked",
        )
    ]
