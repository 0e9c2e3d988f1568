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

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from synthkit import hookimpl
from synthkit.api import (
    Batch,
    ConfigError,
    SinkOptions,
    Source,
    SourceSpec,
    SourceTarget,
    message_batch,
    parse_utc,
)


class CaptureOptions(SinkOptions):
    path: str = Field(description="a JSON-lines file of captured messages, or a directory of them (*.jsonl)")
    batch_messages: int = Field(500, ge=1, le=100_000, description="messages handed to the sink at once, at most")


class CaptureSource(Source):
    def __init__(self, target: SourceTarget, options: CaptureOptions) -> None:
        levels = target.topic.split("/")
        if levels.count("+") != 1 or "#" in levels:
            raise ConfigError(f"--topic {target.topic!r} must have exactly one '+' level, where the device id is",
                              hint="e.g. devices/+/telemetry")  # fmt: skip
        self.target, self.options, self.levels = target, options, levels
        self.at = levels.index("+")
        root = Path(options.path).expanduser()
        if root.is_dir():
            self.files = sorted(root.glob("*.jsonl"))
        elif root.is_file():
            self.files = [root]
        else:
            raise ConfigError(f"capture source: {root} is neither a file nor a directory", hint="give --source-option path=FILE|DIR")
        self.skipped = 0

    def open(self) -> None:
        if not self.files:
            raise ConfigError(f"capture source: no *.jsonl file in {self.options.path}")

    def batches(self, stop: threading.Event) -> Iterator[Batch]:
        if self.target.on_ready is not None:
            self.target.on_ready()
        t, started, sent = self.target, time.monotonic(), 0
        topics: list[str] = []
        payloads: list[bytes] = []
        stamps: list[int] = []
        for topic, payload, stamp in self._messages():
            if stop.is_set() or (t.duration_s and time.monotonic() - started >= t.duration_s) or (t.count and sent >= t.count):
                break
            topics.append(topic)
            payloads.append(payload)
            stamps.append(stamp)
            sent += 1
            if len(topics) >= self.options.batch_messages:
                yield self._batch(topics, payloads, stamps)
                topics, payloads, stamps = [], [], []
        if topics:
            yield self._batch(topics, payloads, stamps)

    def _batch(self, topics: list[str], payloads: list[bytes], stamps: list[int]) -> Batch:
        return message_batch(topics, [x.split("/")[self.at] for x in topics], payloads, stamps)

    def _messages(self) -> Iterator[tuple[str, bytes, int]]:
        for path in self.files:
            with open(path, encoding="utf-8") as fh:
                for number, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        doc = json.loads(line)
                        topic, payload = doc["topic"], doc["payload"]
                        if not isinstance(topic, str):
                            raise TypeError("topic is not a string")
                    except (ValueError, KeyError, TypeError) as exc:
                        raise ConfigError(f"{path}:{number}: not a captured message ({exc})",
                                          hint='each line: {"topic": "...", "payload": {...}}') from None  # fmt: skip
                    if not self._heard(topic):
                        self.skipped += 1
                        continue
                    body = payload.encode() if isinstance(payload, str) else json.dumps(payload, separators=(",", ":")).encode()
                    stamp = doc.get("received_at")
                    when = parse_utc(stamp, f"{path}:{number}: received_at") if isinstance(stamp, str) else None
                    yield topic, body, int(when.timestamp()) if when is not None else int(time.time())

    def _heard(self, topic: str) -> bool:
        levels = topic.split("/")
        return len(levels) == len(self.levels) and all(f in ("+", x) for f, x in zip(self.levels, levels))

    def delivered(self, batch: Batch) -> None:  # files: nothing to acknowledge upstream
        pass

    def close(self) -> dict[str, Any]:
        warnings = [f"{self.skipped} captured message(s) on topics {self.target.topic} does not match were skipped"] if self.skipped else []
        return {"reconnects": 0, "warnings": warnings}


@hookimpl
def synthkit_register_sources() -> list[SourceSpec]:
    return [SourceSpec(name="capture", factory=CaptureSource, options=CaptureOptions,
                       description="captured messages from JSON-lines files (replaying recorded traffic)")]  # fmt: skip
