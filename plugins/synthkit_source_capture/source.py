"""The capture source itself (loaded when a command reads from it)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthkit.api import (
    Batch,
    ConfigError,
    Source,
    SourceTarget,
    message_batch,
    parse_utc,
)
from synthkit_source_capture.options import CaptureOptions


class CaptureSource(Source):
    def __init__(self, target: SourceTarget, options: CaptureOptions) -> None:
        self.target, self.options, self.levels = target, options, target.topic.split("/")
        self.at = target.client_level()
        root = Path(options.path).expanduser()
        if root.is_dir():
            self.files = sorted(root.glob("*.jsonl"))
        elif root.is_file():
            self.files = [root]
        else:
            raise ConfigError(
                f"capture source: {root} is neither a file nor a directory",
                hint="give --source-option path=FILE|DIR",
            )
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
            if (
                stop.is_set()
                or (t.duration_s and time.monotonic() - started >= t.duration_s)
                or (t.count and sent >= t.count)
            ):
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
                        raise ConfigError(
                            f"{path}:{number}: not a captured message ({exc})",
                            hint='each line: {"topic": "...", "payload": {...}}',
                        ) from None
                    if not self._heard(topic):
                        self.skipped += 1
                        continue
                    body = (
                        payload.encode()
                        if isinstance(payload, str)
                        else json.dumps(payload, separators=(",", ":")).encode()
                    )
                    stamp = doc.get("received_at")
                    when = (
                        parse_utc(stamp, f"{path}:{number}: received_at")
                        if isinstance(stamp, str)
                        else None
                    )
                    yield (
                        topic,
                        body,
                        int(when.timestamp()) if when is not None else int(time.time()),
                    )

    def _heard(self, topic: str) -> bool:
        levels = topic.split("/")
        return len(levels) == len(self.levels) and all(
            f in ("+", x) for f, x in zip(self.levels, levels)
        )

    def delivered(self, batch: Batch) -> None:  # files: nothing to acknowledge upstream
        pass

    def close(self) -> dict[str, Any]:
        warnings = (
            [
                f"{self.skipped} captured message(s) on topics {self.target.topic} does not match were skipped"
            ]
            if self.skipped
            else []
        )
        return {"reconnects": 0, "warnings": warnings}
