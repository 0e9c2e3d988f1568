"""Where a message broker is and how to reach it: the contract shared by every broker sink
(the ``mqtt`` plugin's) and every command that reaches a broker (live runs, publishers,
listeners), so none of them imports another plugin to know it.

Flags, then environment, then a config block (a family's scenario ``mqtt`` section, any
object with ``host``/``port``/``ca_path``/``cert_path``/``key_path``), then 127.0.0.1:1883
without TLS.

TLS is on when any certificate setting is given, when the port is 8883, or with
``SYNTHKIT_MQTT_TLS=1``. Every TLS problem we can see before connecting (a missing file, an
encrypted key without a password, a key that does not match its certificate) is a
:class:`ConfigError` raised before the first publish; a handshake failure stops the run the
same way. There is no fallback to plain MQTT.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synthkit.errors import ConfigError

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


class BrokerBlock(BaseModel):
    """The ``mqtt`` block a family's scenario file may hold (``mqtt: BrokerBlock`` in its
    schema), read by :func:`resolve_broker` after flags and environment."""

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, frozen=True, str_strip_whitespace=True
    )

    host: str | None = None
    port: int = Field(TLS_PORT, ge=1, le=65535)
    ca_path: str | None = None
    cert_path: str | None = None
    key_path: str | None = None
    topic: str | None = (
        None  # the family's topic template when set, e.g. devices/{device_id}/telemetry
    )
    username: str | None = None
    password_file: str | None = None  # never the password itself: a scenario is not a secret store

    def files_from(self, base: Path, problems: Any, at: tuple[str, ...]) -> BrokerBlock:
        """The block with its certificate and password files relative to ``base`` (the
        scenario's folder, not the current directory); each must exist, or ``problems``
        (a ``synthkit.api.Problems``) gets one located line for it under ``at``."""
        found: dict[str, str] = {}
        for name in ("ca_path", "cert_path", "key_path", "password_file"):
            value = getattr(self, name)
            if not value:
                continue
            path = Path(value).expanduser()
            path = path if path.is_absolute() else base / path
            if not path.is_file():
                problems.add(
                    (*at, name),
                    f"{path} not found",
                    "give a path relative to the scenario file, or an absolute one",
                )
            found[name] = str(path)
        return self.model_copy(update=found) if found else self


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
    environ: dict[str, str] | None = None,
) -> BrokerSettings:
    env = os.environ if environ is None else environ
    block = scenario_mqtt
    explicit_block = block is not None and getattr(block, "host", None)

    def pick(name: str) -> tuple[Any, str]:
        if env.get(ENV[name]):
            return env[ENV[name]], ENV[name]
        value = getattr(block, name, None) if block is not None else None
        return value, "scenario mqtt." + name

    env_host = env.get(ENV["host"])
    chosen_host = host or env_host or (block.host if explicit_block else None) or DEFAULT_HOST
    source = (
        "--host"
        if host
        else ENV["host"]
        if env_host
        else "scenario mqtt.host"
        if explicit_block
        else "default"
    )
    ca, _ = pick("ca_path")
    cert, _ = pick("cert_path")
    key, _ = pick("key_path")
    password = env.get(ENV["key_password"]) or None
    if port is None:
        raw_port = env.get(ENV["port"])
        if raw_port:
            if not raw_port.isdigit():
                raise ConfigError(
                    f"{ENV['port']}={raw_port!r} is not a port number", hint="e.g. 1883 or 8883"
                )
            port = int(raw_port)
        elif explicit_block or (block is not None and (ca or cert or key)):
            port = int(block.port)  # the scenario's block: 8883 unless it says otherwise
        else:
            port = TLS_PORT if (ca or cert or key) else PLAIN_PORT
    if not 1 <= int(port) <= 65535:
        raise ConfigError(
            f"MQTT port {port} is not a port number (from {'--port' if port is not None else 'the settings'})",
            hint="use 1..65535, e.g. 1883 or 8883 for TLS",
        )
    if not chosen_host.strip():
        raise ConfigError(
            "the MQTT broker host is empty",
            hint="give --host or SYNTHKIT_MQTT_HOST, e.g. 127.0.0.1",
        )
    tls = (
        bool(ca or cert or key)
        or port == TLS_PORT
        or env.get(ENV["tls"], "") in ("1", "true", "yes")
    )
    username, _ = pick("username")
    return BrokerSettings(
        chosen_host,
        port,
        tls,
        ca,
        cert,
        key,
        password,
        source,
        username or None,
        _broker_password(env, pick("password_file")[0]),
    )


def _broker_password(env: Any, password_file: str | None) -> str | None:
    """The broker password: ``SYNTHKIT_MQTT_PASSWORD``, else the first line of the file named by
    ``SYNTHKIT_MQTT_PASSWORD_FILE`` or the scenario's ``mqtt.password_file``. Hidden from
    every message synthkit prints from here on."""
    from synthkit.secrets import hide_secret

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
