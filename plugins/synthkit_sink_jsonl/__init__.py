"""jsonl sink: one JSON object per line in a file, fields that do not apply left out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import SinkSpec

if TYPE_CHECKING:  # the encoder (compiled kernels) loads when a sink is made, not at start-up
    from synthkit.api import EncodedFileSink, FileTarget, SinkOptions


def make_sink(target: FileTarget, options: SinkOptions) -> EncodedFileSink:
    from synthkit.api import EncodedFileSink

    return EncodedFileSink("jsonl", target, "jsonl", header=False)


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [
        SinkSpec(
            name="jsonl",
            factory=make_sink,
            extensions=(".jsonl", ".ndjson", ".json"),
            description="JSON lines file, written atomically",
        )
    ]
