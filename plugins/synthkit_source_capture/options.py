"""The capture source's ``--source-option`` flags (loaded without numpy: `synthkit plugins`)."""

from __future__ import annotations

from pydantic import Field

from synthkit.api import SinkOptions


class CaptureOptions(SinkOptions):
    path: str = Field(
        description="a JSON-lines file of captured messages, or a directory of them (*.jsonl)"
    )
    batch_messages: int = Field(
        500, ge=1, le=100_000, description="messages handed to the sink at once, at most"
    )
