"""http sink: batches POSTed as JSON lines to an endpoint, with retries and per-record outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import SinkSpec

if TYPE_CHECKING:  # the encoder and http.client load when a sink is made, not at start-up
    from synthkit.api import IngestTarget
    from synthkit_sink_http.options import HttpOptions
    from synthkit_sink_http.sink import HttpSink


def make_sink(target: IngestTarget, options: HttpOptions) -> HttpSink:
    from synthkit_sink_http.sink import HttpSink

    return HttpSink(target, options)


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    from synthkit_sink_http.options import HttpOptions

    return [
        SinkSpec(
            name="http",
            factory=make_sink,
            kind="ingest",
            schemes=("http", "https"),
            options=HttpOptions,
            description="POST JSON lines to an endpoint: batches, retries with backoff, outcomes per record",
        )
    ]
