"""The ``telematics_db`` ingest sink: telematics events straight into the endpoint's tables
(:mod:`synthkit_telematics.store`), checked by the endpoint's rules, each stored once. It
takes event batches (``telematics generate --out sqlite:///x.db --sink telematics_db``,
``replay``) and message batches (``ingest listen --sink telematics_db --topic
'telematics/+/events'``: each payload an event's JSON line), so a live feed heard on the
broker and one posted to the endpoint land in the same rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from synthkit.api import (
    Batch,
    ConfigError,
    Encoder,
    IngestSink,
    IngestTarget,
    SinkReport,
    build_plugins,
    redact,
)
from synthkit_telematics.event_rules import EventRules
from synthkit_telematics.serve import Ingest
from synthkit_telematics.store import TelematicsStore


class TelematicsDbSink(IngestSink):
    def __init__(self, target: IngestTarget, options: Any = None) -> None:
        if not target.apply:
            raise ConfigError(
                "the telematics_db sink checks records as it stores them", hint="give --apply"
            )
        self.url = target.url
        self.counts: Counter[str] = Counter()
        self.records = self.bytes = 0
        self.encoder: Encoder | None = None
        self.store: TelematicsStore | None = None
        self.messages = False

    def open(self, columns: tuple[str, ...]) -> None:
        self.messages = "payload" in columns and "event_id" not in columns
        if not self.messages:
            self.encoder = Encoder("jsonl", threads=1)
        self.store = TelematicsStore(self.url, create=True)
        # the installed event types say which fields each type's events carry
        self.ingest = Ingest(self.store, EventRules(build_plugins().event_types()))

    def write(self, batch: Batch) -> None:
        if not batch.n:
            return
        if self.messages:
            body = b"\n".join(bytes(p) for p in batch.column("payload").values[: batch.n])
        else:
            assert self.encoder is not None
            body = self.encoder.encode_bytes(batch)
        answer = self.ingest(body)
        for outcome, n in answer["outcomes"].items():
            self.counts[outcome if ":" in outcome else f"{outcome}:DB"] += n
        self.records += batch.n
        self.bytes += len(body)

    def close(self) -> SinkReport:
        self._release()
        return SinkReport(
            "telematics_db",
            self.records,
            self.bytes,
            redact(self.url),
            dict(sorted(self.counts.items())),
        )

    def abort(self) -> None:
        self._release()

    def _release(self) -> None:
        if self.encoder is not None:
            self.encoder.close()
            self.encoder = None
        if self.store is not None:
            self.store.close()
            self.store = None
