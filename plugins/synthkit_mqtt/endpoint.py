"""How the mqtt sink and source reach a broker: flags, then environment, then the scenario's
broker block, then 127.0.0.1:1883 without TLS; a ``--broker`` URL (``mqtt://host:port``,
``mqtts://`` for TLS) gives the host and port. The plugin's resolver
(``SinkSpec.endpoint``): the core hands it a ``BrokerRequest`` and gets an ``Endpoint``.

TLS is on when any certificate setting is given, when the port is 8883, with ``mqtts://``,
or with ``SYNTHKIT_MQTT_TLS=1``. Every TLS problem we can see before connecting (a missing
file, an encrypted key without a password, a key that does not match its certificate) is a
:class:`ConfigError` raised before the first publish; a handshake failure stops the run the
same way. There is no fallback to plain MQTT.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthkit.api import BrokerRequest, ConfigError, Endpoint, broker_url, hide_secret

ENV = {
    "host": "SYNTHKIT_MQTT_HOST",
    "port": "SYNTHKIT_MQTT_PORT",
    "ca_path": "SYNTHKIT_MQTT_CA",
    "cert_path": "SYNTHKIT_MQTT_CERT",
    "key_path": "SYNTHKIT_MQTT_KEY",
    "key_password": "SYNTHKIT_MQTT_KEY_PASSWORD",
    "tls": "SYNTHKIT_MQTT_TLS",
    "username": "SYNTHKIT_MQTT_USERNAME",
    "password": "SYNTHKIT_MQTT_PASSWORD",
    "password_file": "SYNTHKIT_MQTT_PASSWORD_FILE",
}
DEFAULT_HOST, PLAIN_PORT, TLS_PORT = "127.0.0.1", 1883, 8883


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int
    tls: bool
    ca_path: str | None = None
    cert_path: str | None = None
    key_path: str | None = None
    key_password: str | None = None
    source: str = "default"  # where the host came from, for messages
    username: str | None = None
    password: str | None = field(
        default=None, repr=False
    )  # never printed: scrubbed from all output

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def resolve_broker(
    scenario_mqtt: Any = None,
    *,
    host: str | None = None,
    port: int | None = None,
    environ: Any = None,
) -> BrokerSettings:
    """Each setting from the first place that gives it: the flag, the environment, the
    scenario's block (its host only when it names one), the default."""
    env = os.environ if environ is None else environ
    block = scenario_mqtt
    explicit_block = bool(block is not None and getattr(block, "host", None))

    def pick(name: str) -> Any:
        if env.get(ENV[name]):
            return env[ENV[name]]
        return getattr(block, name, None) if block is not None else None

    chosen_host, source = _host(host, env, block if explicit_block else None)
    ca, cert, key = pick("ca_path"), pick("cert_path"), pick("key_path")
    files = bool(ca or cert or key)
    if port is None:
        port = _port(env, block, explicit_block, files)
    if not 1 <= int(port) <= 65535:
        raise ConfigError(
            f"MQTT port {port} is not a port number (from {'--port' if port is not None else 'the settings'})",
            hint="use 1..65535, e.g. 1883 or 8883 for TLS",
        )
    tls = files or port == TLS_PORT or env.get(ENV["tls"], "") in ("1", "true", "yes")
    return BrokerSettings(
        chosen_host,
        port,
        tls,
        ca,
        cert,
        key,
        env.get(ENV["key_password"]) or None,
        source,
        pick("username") or None,
        _broker_password(env, pick("password_file")),
    )


def _host(flag: str | None, env: Any, block: Any) -> tuple[str, str]:
    """(the host, where it came from)."""
    for value, source in (
        (flag, "--host"),
        (env.get(ENV["host"]), ENV["host"]),
        (block.host if block is not None else None, "scenario mqtt.host"),
    ):
        if value is not None and value != "":
            if not str(value).strip():
                raise ConfigError(
                    "the MQTT broker host is empty",
                    hint="give --host or SYNTHKIT_MQTT_HOST, e.g. 127.0.0.1",
                )
            return str(value), source
    return DEFAULT_HOST, "default"


def _port(env: Any, block: Any, explicit_block: bool, files: bool) -> int:
    """The port when no flag gives it: the environment's, the scenario block's (8883 unless
    it says otherwise), else 8883 with certificate files and 1883 without."""
    raw = env.get(ENV["port"])
    if raw:
        if not raw.isdigit():
            raise ConfigError(
                f"{ENV['port']}={raw!r} is not a port number", hint="e.g. 1883 or 8883"
            )
        return int(raw)
    if explicit_block or (block is not None and files):
        return int(block.port or TLS_PORT)
    return TLS_PORT if files else PLAIN_PORT


def _broker_password(env: Any, password_file: str | None) -> str | None:
    """The broker password: ``SYNTHKIT_MQTT_PASSWORD``, else the first line of the file named by
    ``SYNTHKIT_MQTT_PASSWORD_FILE`` or the scenario's ``mqtt.password_file``. Hidden from
    every message synthkit prints from here on."""
    secret = env.get(ENV["password"]) or None
    if secret is None and password_file:
        try:
            secret = Path(password_file).read_text(encoding="utf-8").splitlines()[0].strip() or None
        except (OSError, IndexError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"MQTT password file {password_file} is not readable ({type(exc).__name__})",
                hint=f"point {ENV['password_file']} or mqtt.password_file at a file whose first line is the password",
            ) from None
    if secret:
        hide_secret(secret)
    return secret


def tls_context(settings: BrokerSettings) -> ssl.SSLContext | None:
    """The TLS context, with every file checked now rather than at the first publish."""
    if not settings.tls:
        return None
    for label, path in (
        ("CA", settings.ca_path),
        ("certificate", settings.cert_path),
        ("key", settings.key_path),
    ):
        if path and not Path(path).is_file():
            raise ConfigError(
                f"MQTT {label} file {path} not found",
                hint="set scenario mqtt.ca_path/cert_path/key_path or SYNTHKIT_MQTT_CA/CERT/KEY",
            )
    if bool(settings.cert_path) != bool(settings.key_path):
        raise ConfigError(
            "MQTT client certificate and key go together: only one is set",
            hint="set both cert_path and key_path (or SYNTHKIT_MQTT_CERT and SYNTHKIT_MQTT_KEY)",
        )
    try:
        context = ssl.create_default_context(cafile=settings.ca_path)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"MQTT CA file {settings.ca_path} is not a usable certificate: {exc.reason or exc}",
            hint="point ca_path at the PEM certificate of the CA that signed the broker's",
        ) from None
    if settings.cert_path and settings.key_path:
        if _encrypted(Path(settings.key_path)) and not settings.key_password:
            raise ConfigError(
                f"MQTT key {settings.key_path} is encrypted and no password is set",
                hint=f"set {ENV['key_password']}, or use an unencrypted key",
            )

        def password() -> str:  # never let OpenSSL prompt on the terminal
            if settings.key_password is None:
                raise ConfigError(
                    f"MQTT key {settings.key_path} needs a password",
                    hint=f"set {ENV['key_password']}",
                )
            return settings.key_password

        try:
            context.load_cert_chain(settings.cert_path, settings.key_path, password=password)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"MQTT certificate {settings.cert_path} / key {settings.key_path} unusable: {exc.reason or exc}",
                hint="check the key matches the certificate and its password",
            ) from None
    return context


def _encrypted(key_path: Path) -> bool:
    head = key_path.read_bytes()[:4096]
    return b"ENCRYPTED" in head


@dataclass(frozen=True)
class MqttEndpoint:
    """What the mqtt sink and source connect with (``Endpoint.settings``)."""

    broker: BrokerSettings
    tls: ssl.SSLContext | None


def settings_of(given: Endpoint) -> MqttEndpoint:
    """An endpoint's mqtt settings: the resolver's, or (an endpoint made by hand) its URL's."""
    if isinstance(given.settings, MqttEndpoint):
        return given.settings
    made = endpoint(BrokerRequest(url=given.url)).settings
    assert isinstance(made, MqttEndpoint)
    return made


def endpoint(request: BrokerRequest) -> Endpoint:
    """The mqtt plugin's resolver: ``request`` (flags, URL, the scenario's block, the
    environment) as an endpoint whose TLS context is checked now, before any connection."""
    host, port, env = request.host, request.port, request.environ
    tls_scheme = False
    if request.url:
        scheme, host, port = broker_url(request.url)
        if scheme not in ("mqtt", "mqtts"):
            raise ConfigError(
                f"--broker {request.url!r}: the mqtt sink speaks mqtt:// and mqtts://, not {scheme}://",
                hint="give an mqtt:// URL, or --sink the sink that claims that scheme",
            )
        tls_scheme = scheme == "mqtts"
        port = port or (TLS_PORT if tls_scheme else PLAIN_PORT)
    settings = resolve_broker(request.block, host=host, port=port, environ=env)
    if tls_scheme and not settings.tls:
        settings = BrokerSettings(**{**settings.__dict__, "tls": True})
    scheme = "mqtts" if settings.tls else "mqtt"
    return Endpoint(
        f"{scheme}://{settings.address}",
        MqttEndpoint(settings, tls_context(settings)),
        tls=settings.tls,
    )
