"""What the reference database does with a batch of messages (``ingest listen``: the mqtt
source's batches, handed to the reference_db sink): each one ends stored,
duplicate, or rejected and kept whole in ``telemetry_rejects`` (topic, bytes, reason), in
transactions that a busy or unreachable database is waited for."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import insert

from synthkit.api import Batch, stderr
from synthkit_reservoir.database.ingest import Ingestor, TelemetryRows
from synthkit_reservoir.database.schema import telemetry_rejects

RETRY_MAX_S = 5.0


class SeqTracker:
    """Distinct seqs seen per device; gaps are the missing seqs between each one's lowest and highest."""

    def __init__(self) -> None:
        self.seen: dict[str, set[int]] = {}

    def add(self, client: str, seq: int) -> None:
        self.seen.setdefault(client, set()).add(seq)

    def gaps(self, limit: int = 10) -> dict[str, dict[str, Any]]:
        out = {}
        for client, seqs in sorted(self.seen.items()):
            lo, hi = min(seqs), max(seqs)
            missing = hi - lo + 1 - len(seqs)
            if missing:
                first = [s for s in range(lo, hi + 1) if s not in seqs][:limit]
                out[client] = {"missing": missing, "first_missing": first}
        return out


def _driver_errors(name: str) -> tuple[type[BaseException], ...]:
    """``name`` (OperationalError, DataError, IntegrityError) of SQLAlchemy and of the
    drivers, whose raw connections the bulk writers use."""
    import sqlite3

    import sqlalchemy.exc

    found = [getattr(sqlalchemy.exc, name), getattr(sqlite3, name)]
    try:
        import psycopg

        found.append(getattr(psycopg, name))
    except ImportError:
        pass
    return tuple(found)


_OPERATIONAL, _REFUSED = (
    _driver_errors("OperationalError"),
    _driver_errors("DataError") + _driver_errors("IntegrityError"),
)


def _transient(exc: BaseException) -> bool:
    """Busy or unreachable, so worth waiting for: SQLite locked or busy, a PostgreSQL
    connection lost; not a missing table or column (SQLite reports those the same way)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "sqlite" in type(getattr(exc, "orig", None) or exc).__module__:
        return "locked" in text or "busy" in text or "disk i/o" in text
    return True


def retrying(work: Any, stop: threading.Event) -> Counter[str] | None:
    """``work()``, again and again while the database is busy or unreachable (SQLite locked,
    a server restarting), until it succeeds or ``stop`` is set (then None)."""
    delay, warned = 0.2, False
    while True:
        try:
            return work()
        except _OPERATIONAL as exc:
            if not _transient(exc):
                raise
            if not warned:
                text = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
                stderr().print(
                    f"[yellow]warning:[/] the database is not taking writes ({text}); "
                    "retrying, nothing is acknowledged meanwhile",
                    highlight=False,
                    soft_wrap=True,
                )
                warned = True
            if stop.wait(delay):
                return None
            delay = min(RETRY_MAX_S, delay * 2)


class Message(NamedTuple):
    """One received message: its topic, the device id the topic names, its raw bytes, and
    when its source received it (epoch seconds: its telemetry row's received_at)."""

    topic: str
    client: str
    payload: bytes
    received_s: int


def messages_of(batch: Batch) -> list[Message]:
    """A message batch (``synthkit.api.message_batch``) as messages."""
    topic, client, payload = (batch.column(n) for n in ("topic", "client", "payload"))
    topics, clients = list(topic.labels), list(client.labels)
    received = batch.column("received_at").timestamps().astype(int).tolist()
    return [
        Message(topics[t], clients[c], p, r)
        for t, c, p, r in zip(
            topic.values.tolist(), client.values.tolist(), payload.values, received
        )
    ]


def ingest_batch(ingestor: Ingestor, batch: list[Message], seqs: SeqTracker) -> Counter[str]:
    """Store one batch: telemetry for what passes, ``telemetry_rejects`` for the rest."""
    now = int(time.time())
    rejects: list[Reject] = []
    # the whole batch decoded at once by the payload codec; each bad message keeps its reason
    rows, bad = TelemetryRows.from_messages(
        [m.client for m in batch], [m.payload for m in batch], [m.received_s for m in batch]
    )
    refused = {i for i, _ in bad}
    for i, why in bad:  # bad JSON or a malformed payload: rejected with its reason
        reason, _, detail = why.partition(" ")
        rejects.append(_reject(batch[i], batch[i].client, reason, detail.strip("()"), now))
    kept = [m for i, m in enumerate(batch) if i not in refused]
    counts: Counter[str] = Counter()
    if rows.n:
        try:
            counts.update(_store(ingestor, rows, kept, rejects, now, seqs))
        except _REFUSED:  # the database refused something: find which, one by one
            for i, msg in enumerate(kept):
                row = rows.take(slice(i, i + 1))
                try:
                    counts.update(_store(ingestor, row, [msg], rejects, now, seqs))
                except _REFUSED as exc:
                    text = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
                    rejects.append(_reject(msg, msg.client, "DB_REFUSED", text, now))
    if rejects:
        with ingestor.engine.begin() as conn:
            conn.execute(insert(telemetry_rejects), [row for row, _ in rejects])
        counts.update(f"rejected:{row['reason']}" for row, counted in rejects if not counted)
    return counts


def _store(
    ingestor: Ingestor,
    rows: TelemetryRows,
    msgs: list[Message],
    rejects: list[Reject],
    now: int,
    seqs: SeqTracker,
) -> Counter[str]:
    counts, accepted, outcome = ingestor.classify(rows)
    if accepted is not None:
        counts.update(ingestor.write(accepted))
    for i in np.flatnonzero(
        outcome != ""
    ).tolist():  # refused by the contract: kept, already counted
        rejects.append(
            _reject(
                msgs[i],
                str(rows.client[i]),
                outcome[i].removeprefix("rejected:"),
                "",
                now,
                counted=True,
            )
        )
    for client, seq in zip(rows.client.tolist(), rows.fields.seq.tolist()):
        seqs.add(client, int(seq))
    return counts


Reject = tuple[dict[str, Any], bool]  # a telemetry_rejects row; already counted by the contract?


def _reject(
    msg: Message, client: str, reason: str, detail: str, now: int, *, counted: bool = False
) -> Reject:
    return {
        "received_at": datetime.fromtimestamp(now, UTC),
        "topic": msg.topic,
        "mqtt_client_id": client[:128],
        "reason": reason[:64],
        "detail": detail or None,
        "payload": bytes(msg.payload),
    }, counted
