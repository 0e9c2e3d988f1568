"""The source contract: what a command reads from outside (a broker subscription) and hands
to a sink, acknowledging each batch upstream only once the sink took it (``ingest listen``)."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthkit.errors import ConfigError, PluginError
from synthkit.sink_build import parse_options

if TYPE_CHECKING:
    from synthkit.batch import Batch
    from synthkit.brokers import Endpoint
    from synthkit.records import SourceSpec


@dataclass(frozen=True)
class SourceTarget:
    """Where a source reads: ``endpoint`` (the broker as the source's own resolver made it,
    ``SourceSpec.endpoint``), a ``topic`` filter whose one ``+`` level is the client (device)
    id, ``client_id`` (its persistent session); and when to end: after ``duration_s``,
    ``count`` messages or ``idle_s`` without one (0: never). ``on_ready`` is called once,
    when the subscription is in place (what is published from then on reaches the source):
    a listener says so, so a script can start publishing."""

    endpoint: Endpoint
    topic: str
    client_id: str
    duration_s: float = 0.0
    count: int = 0
    idle_s: float = 0.0
    connect_timeout_s: float = 10.0
    on_ready: Callable[[], None] | None = None

    @property
    def address(self) -> str:
        return self.endpoint.address

    def client_level(self) -> int:
        """Which level of ``topic`` names the client: its one ``+`` (a ConfigError otherwise)."""
        levels = self.topic.split("/")
        if levels.count("+") != 1 or "#" in levels:
            raise ConfigError(
                f"--topic {self.topic!r} must have exactly one '+' level, where the device id is",
                hint="e.g. devices/+/telemetry",
            )
        return levels.index("+")


class Source(ABC):
    """Batches from outside, in the message layout (``synthkit.api.message_batch``: topic,
    client, payload, received_at). ``open`` connects (or raises a ConfigError); ``batches(stop)``
    yields what arrives until ``stop`` is set or the target's end; ``delivered(batch)`` is
    called once the sink took a batch, and only then may the source acknowledge it upstream
    (what was never delivered is redelivered after a restart); ``close()`` disconnects and
    returns summary fields (``reconnects``, ``warnings``)."""

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def batches(self, stop: threading.Event) -> Iterator[Batch]: ...

    @abstractmethod
    def delivered(self, batch: Batch) -> None: ...

    @abstractmethod
    def close(self) -> dict[str, Any]: ...

    def subscribe_ahead(self) -> bool:
        """Make the source's durable subscription exist without reading anything, so what is
        published from now on is kept for it until it reads (a run started before its
        listener loses nothing). False: this source has no such subscription (the default)."""
        return False


def make_source(spec: SourceSpec, target: SourceTarget, options: Iterable[str] = ()) -> Source:
    from synthkit.sink_build import call_factory

    parsed = parse_options(f"source {spec.name!r}", spec.options, options, "--source-option")
    source = call_factory(
        f"source {spec.name!r}", spec.factory, ("target", target), ("options", parsed)
    )
    if not isinstance(source, Source):
        raise PluginError(
            f"source {spec.name!r}: its factory returned a {type(source).__name__}, not a synthkit.api.Source"
        )
    return source
