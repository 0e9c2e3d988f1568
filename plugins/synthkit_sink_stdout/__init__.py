"""stdout sink: JSON lines on standard output, flushed batch by batch (for live streams)."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.records import SinkSpec
from synthkit.sinks import EncodedStreamSink


def make_sink(target: object = None) -> EncodedStreamSink:
    return EncodedStreamSink("stdout", "jsonl")


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [SinkSpec(name="stdout", factory=make_sink, description="JSON lines on stdout")]
