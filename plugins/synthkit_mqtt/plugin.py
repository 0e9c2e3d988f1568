"""Registers the ``mqtt`` sink and the ``mqtt`` source."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import SinkSpec, SourceSpec


def _endpoint(request):  # a BrokerRequest: flags, --broker URL, the scenario's block
    from synthkit_mqtt.endpoint import endpoint

    return endpoint(request)


def _factory(target, options):  # a BrokerTarget and MqttOptions
    from synthkit_mqtt.client import session_of
    from synthkit_mqtt.endpoint import settings_of
    from synthkit_mqtt.sink import MqttSink

    mqtt = settings_of(target.endpoint)
    session = session_of(
        mqtt.broker,
        protocol=options.protocol,
        clean=options.clean_session,
        expiry_s=options.session_expiry_s,
    )
    return MqttSink(
        target.address,
        clients=target.clients,
        payloads=target.payloads,
        topic=target.topic,
        qos=target.qos,
        tls=mqtt.tls,
        client_column=target.client_column,
        client_id_prefix=target.client_id_prefix,
        drain_timeout_s=target.drain_timeout_s,
        connect_timeout_s=options.connect_timeout_s,
        retain=options.retain,
        session=session,
    )


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    from synthkit_mqtt.options import MqttOptions  # pydantic loads when sinks are needed

    return [
        SinkSpec(
            kind="broker",
            name="mqtt",
            factory=_factory,
            options=MqttOptions,
            schemes=("mqtt", "mqtts"),
            endpoint=_endpoint,
            description="an MQTT broker: one connection per device (client_id = device id), QoS 0/1/2, MQTT 3.1.1 or 5, acks tracked",
        )
    ]


def _source(target, options):  # a SourceTarget and MqttSourceOptions
    from synthkit_mqtt.source import MqttSource

    return MqttSource(target, options)


@hookimpl
def synthkit_register_sources() -> list[SourceSpec]:
    from synthkit_mqtt.options import MqttSourceOptions

    return [
        SourceSpec(
            name="mqtt",
            factory=_source,
            options=MqttSourceOptions,
            endpoint=_endpoint,
            schemes=("mqtt", "mqtts"),
            description="an MQTT subscription (QoS 1, persistent session); each message acked once the sink committed it",
        )
    ]
