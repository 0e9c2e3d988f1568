"""csv sink: one header with the union of all fields, empty cells where a field does not apply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import SinkSpec

if TYPE_CHECKING:  # the encoder (compiled kernels) loads when a sink is made, not at start-up
    from synthkit.api import EncodedFileSink, FileTarget, SinkOptions


def make_sink(target: FileTarget, options: SinkOptions) -> EncodedFileSink:
    from synthkit.api import EncodedFileSink

    return EncodedFileSink("csv", target, "csv", header=True)


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [
        SinkSpec(
            name="csv",
            factory=make_sink,
            extensions=(".csv",),
            description="CSV file with a header, written atomically",
        )
    ]
