"""The ``capture`` source: captured traffic replayed from JSON-lines files into any ingest sink.

    synthkit ingest listen --source capture --source-option path=captured/ --topic 'devices/+/telemetry'

Each line is one message: ``{"topic": "devices/D-1/telemetry", "payload": {...}}`` (a payload
object is stored as its compact JSON, a string as its UTF-8 bytes), optionally with
``received_at`` (ISO 8601 UTC, else the moment it is read). ``path`` is a file or a directory
(every ``*.jsonl`` in it, by name). The topic filter's ``+`` level names the client; a line on
a topic the filter does not match is skipped and counted. Reading ends at the end of the files
(or at ``--count`` / ``--duration-seconds``); nothing is acknowledged upstream, and a re-run
stores nothing twice (the sink dedupes).
"""

from __future__ import annotations

from typing import Any

from synthkit import hookimpl
from synthkit.api import SourceSpec


def _factory(target: Any, options: Any) -> Any:  # the source loads (numpy with it) when it is used
    from synthkit_source_capture.source import CaptureSource

    return CaptureSource(target, options)


@hookimpl
def synthkit_register_sources() -> list[SourceSpec]:
    from synthkit_source_capture.options import CaptureOptions

    return [
        SourceSpec(
            name="capture",
            factory=_factory,
            options=CaptureOptions,
            description="captured messages from JSON-lines files (replaying recorded traffic)",
        )
    ]
