"""stdout sink: JSON lines on standard output, flushed batch by batch (for live streams)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import SinkSpec

if TYPE_CHECKING:  # the encoder (compiled kernels) loads when a sink is made, not at start-up
    from synthkit.api import EncodedStreamSink, SinkOptions, StreamTarget


def make_sink(target: StreamTarget, options: SinkOptions) -> EncodedStreamSink:
    from synthkit.api import EncodedStreamSink

    return EncodedStreamSink("stdout", "jsonl", target.stream)


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [
        SinkSpec(
            name="stdout", factory=make_sink, description="JSON lines on stdout", kind="stream"
        )
    ]
