"""Where a broker is, with no protocol in its shape: the contract between a command that
reaches a broker (a live run, a publisher, a listener, a replay) and the broker sink or
source that does (the ``mqtt`` plugin's, or a partner's).

A command knows what the user gave (:class:`BrokerRequest`: ``--broker URL``, ``--host`` and
``--port``, the scenario's broker block); the sink or source resolves it by its own rules
(``SinkSpec.endpoint`` / ``SourceSpec.endpoint``: its environment variables, its default
port, its TLS and credentials) into an :class:`Endpoint`: the URL that names it in records and
messages, and the plugin's own settings, which the core never reads. A URL's scheme picks the
sink (``mqtt://``, ``mqtts://``, ``redis://``: whatever a sink claims in ``SinkSpec.schemes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from synthkit.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"


class BrokerBlock(BaseModel):
    """The broker block a family's scenario file may hold (its ``mqtt:`` section, as the
    built-in families and the examples name it): handed to the sink's resolver after flags
    and environment."""

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, frozen=True, str_strip_whitespace=True
    )

    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)  # None: the sink's default for the block
    ca_path: str | None = None
    cert_path: str | None = None
    key_path: str | None = None
    topic: str | None = None  # the family's topic template, e.g. devices/{device_id}/telemetry
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
class BrokerRequest:
    """What a command knows of the broker the user wants; ``environ`` None: the process's."""

    url: str | None = None  # --broker URL
    host: str | None = None  # --host
    port: int | None = None  # --port
    block: BrokerBlock | None = None  # the scenario's broker block
    environ: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Endpoint:
    """A broker as a sink or source resolved it: ``url`` (``scheme://host:port``, no
    secrets) names it in records and messages; ``settings`` are the plugin's own (TLS,
    credentials), which only it reads."""

    url: str
    settings: Any = None
    tls: bool = False  # whether the connection is encrypted (what a summary reports)

    @property
    def address(self) -> str:
        """``host:port``: what summaries and records have always said."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{parts.port}" if parts.port else host

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme


def broker_url(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``--broker URL``; a URL without them is a ConfigError."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(
            f"--broker {url!r} is not a URL ({exc})", hint="e.g. mqtt://127.0.0.1:1883"
        ) from None
    if not parts.scheme or not parts.hostname:
        raise ConfigError(
            f"--broker {url!r} names no scheme and host",
            hint="e.g. mqtt://127.0.0.1:1883, mqtts://broker:8883 (the scheme picks the sink)",
        )
    return parts.scheme.lower(), parts.hostname, port


def plain_endpoint(
    scheme: str, request: BrokerRequest, default_port: int | None = None
) -> Endpoint:
    """The endpoint of a sink or source that has no rules of its own (a resolver may start
    from it): the URL given, else ``--host`` (or the block's host, or 127.0.0.1) and
    ``--port`` (or the block's, or ``default_port``)."""
    if request.url:
        given, host, port = broker_url(request.url)
        if port is None and default_port is None:
            raise ConfigError(
                f"--broker {request.url!r} names no port", hint=f"e.g. {given}://{host}:PORT"
            )
        return Endpoint(f"{given}://{host}:{port or default_port}")
    block = request.block
    host = request.host or (block.host if block is not None else None) or DEFAULT_HOST
    port = request.port or (block.port if block is not None else None) or default_port
    if port is None:
        raise ConfigError(
            f"the {scheme} broker's port is not given", hint=f"give --broker {scheme}://HOST:PORT"
        )
    if not 1 <= int(port) <= 65535:
        raise ConfigError(f"port {port} is not a port number", hint="use 1..65535")
    return Endpoint(f"{scheme}://{host}:{port}")


def endpoint_of(spec: Any, request: BrokerRequest) -> Endpoint:
    """``request`` resolved by the broker sink or source ``spec``: its own resolver
    (``spec.endpoint``), else :func:`plain_endpoint` with its first scheme."""
    if spec.endpoint is not None:
        return spec.endpoint(request)
    schemes = getattr(spec, "schemes", ()) or (spec.name,)
    return plain_endpoint(schemes[0], request)
