"""A broker is an address with no protocol in its shape: the core hands what the user gave
(a URL, --host/--port, the scenario's block) to the broker sink's own resolver, and a URL's
scheme picks the sink. The mqtt plugin's rules stay its own."""

from __future__ import annotations

import pytest
from synthkit_mqtt.endpoint import endpoint as mqtt_endpoint

from synthkit.brokers import BrokerBlock, BrokerRequest, Endpoint, plain_endpoint
from synthkit.errors import ConfigError
from synthkit.plugins import build_plugins

NO_ENV: dict[str, str] = {}


def test_a_url_names_host_port_and_tls_for_the_mqtt_sink():
    plain = mqtt_endpoint(BrokerRequest(url="mqtt://broker.lan:1884", environ=NO_ENV))
    assert (plain.url, plain.address, plain.tls) == (
        "mqtt://broker.lan:1884",
        "broker.lan:1884",
        False,
    )
    secure = mqtt_endpoint(BrokerRequest(url="mqtts://broker.lan", environ=NO_ENV))
    assert (secure.url, secure.tls) == ("mqtts://broker.lan:8883", True)
    assert secure.settings.tls is not None  # its TLS context, made (and checked) now
    with pytest.raises(ConfigError, match="speaks mqtt:// and mqtts://, not redis://"):
        mqtt_endpoint(BrokerRequest(url="redis://h:6379", environ=NO_ENV))


def test_the_mqtt_sink_keeps_its_own_order_flags_environment_block_default():
    env = {"SYNTHKIT_MQTT_HOST": "from-env", "SYNTHKIT_MQTT_PORT": "1999"}
    block = BrokerBlock(host="from-block", port=1777)
    assert mqtt_endpoint(BrokerRequest(environ=NO_ENV)).url == "mqtt://127.0.0.1:1883"
    assert mqtt_endpoint(BrokerRequest(block=block, environ=NO_ENV)).address == "from-block:1777"
    assert mqtt_endpoint(BrokerRequest(block=block, environ=env)).address == "from-env:1999"
    flags = BrokerRequest(host="flag", port=1555, block=block, environ=env)
    assert mqtt_endpoint(flags).address == "flag:1555"
    url = BrokerRequest(url="mqtt://from-url:1666", block=block, environ=env)
    assert mqtt_endpoint(url).address == "from-url:1666"


def test_a_sink_without_rules_takes_the_url_or_host_and_port():
    assert plain_endpoint("redis", BrokerRequest(url="redis://r:6380")).url == "redis://r:6380"
    assert plain_endpoint("redis", BrokerRequest(), 6379).url == "redis://127.0.0.1:6379"
    assert plain_endpoint("x", BrokerRequest(block=BrokerBlock(host="b", port=9))).address == "b:9"
    with pytest.raises(ConfigError, match="port is not given"):
        plain_endpoint("x", BrokerRequest())
    assert Endpoint("mqtt://[::1]:1883").address == "[::1]:1883"


def test_a_url_scheme_picks_the_broker_sink_and_one_nobody_claims_is_refused():
    plugins = build_plugins()
    spec, endpoint = plugins.broker(
        BrokerRequest(url="mqtts://h:8884", environ=NO_ENV), needed_by="t"
    )
    assert (spec.name, endpoint.url) == ("mqtt", "mqtts://h:8884")
    with pytest.raises(ConfigError, match="no broker sink speaks nats://") as err:
        plugins.broker(BrokerRequest(url="nats://h:4222"), needed_by="t")
    assert "mqtt://, mqtts://" in err.value.hint
    with pytest.raises(ConfigError, match="names no scheme and host"):
        plugins.broker(BrokerRequest(url="just-a-host"), needed_by="t")
