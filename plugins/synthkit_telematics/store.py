"""Where telematics events are kept (SQLite or PostgreSQL): ``telematics_events``, each event
exactly once, and ``telematics_rejects``, each refused record whole with its reason.

An event is keyed by (``driver_id``, ``seq``); one without a seq (the ``synthkit-mock``
drop-in's, the original's schema) by its ``event_id``. A second copy of either is counted a
duplicate and changes nothing. The columns a query filters or aggregates on are columns;
the whole event, as it came, is ``payload`` (JSON). ``stored_at`` is when the store took it
(what reconcile's late count reads)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from synthkit.api import (
    Ledger,
    SqlLedger,
    connected_engine,
    make_engine,
    redact,
    store_identity,
)
from synthkit_telematics.fields import BASE_FIELDS

EVENTS, REJECTS = "telematics_events", "telematics_rejects"
INIT_HINT = "start `synthkit telematics serve` on it once (it makes its tables)"
# the event's fields kept as columns, in row order after driver_id and seq: the seed's
# fields but the car's (static per driver, in the payload)
COLUMNS = tuple(f for f in BASE_FIELDS if f != "driver_id" and not f.startswith("car_"))


def _tables(metadata: Any) -> tuple[Any, Any]:
    from sqlalchemy import (
        BigInteger,
        Column,
        DateTime,
        Float,
        Index,
        Integer,
        String,
        Table,
        Text,
        UniqueConstraint,
    )

    events = Table(
        EVENTS,
        metadata,
        Column("driver_id", String(64), nullable=False),
        Column("seq", BigInteger, nullable=True),
        Column("event_id", String(32), nullable=False),
        Column("trip_id", String(64)),
        Column("ts", String(32), nullable=False),
        Column("event_type", String(64), nullable=False),
        Column("latitude", Float),
        Column("longitude", Float),
        Column("speed_mph", Float),
        Column("heading_deg", Integer),
        Column("period_minute", BigInteger),
        Column("payload", Text, nullable=False),
        Column("stored_at", DateTime, nullable=False),
        # the driver first: reconcile groups by it, and a driver's seqs arrive in order
        UniqueConstraint("driver_id", "seq", name=f"{EVENTS}_driver_seq"),
    )
    from sqlalchemy import text

    Index(
        f"{EVENTS}_event_id_unsequenced",
        events.c.event_id,
        unique=True,
        sqlite_where=text("seq IS NULL"),
        postgresql_where=text("seq IS NULL"),
    )
    rejects = Table(
        REJECTS,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("received_at", DateTime, nullable=False),
        Column("reason", String(300), nullable=False),
        Column("line", Text, nullable=False),
    )
    return events, rejects


class TelematicsStore:
    """The two tables at ``url`` (made when missing with ``create``). :meth:`put` is safe
    from any thread: writes are serialized, as SQLite needs."""

    def __init__(self, url: str, *, create: bool = False) -> None:
        from sqlalchemy import MetaData

        self.url, self.identity = url, store_identity(url)
        self.engine = make_engine(url, create=create, init_hint=INIT_HINT)
        self.events, self.rejects = _tables(MetaData())
        if create:
            with connected_engine(url, create=True, init_hint=INIT_HINT) as engine:
                self.events.metadata.create_all(engine)
        self._lock = threading.Lock()
        names = ("driver_id", "seq", *COLUMNS, "payload", "stored_at")
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        # plain DBAPI executemany: several times faster than the ORM-free Core path with
        # RETURNING, and the row count it reports is what was new
        self._insert = (
            f"INSERT INTO {EVENTS} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))}) "
            "ON CONFLICT DO NOTHING"
        )

    def put(self, rows: Sequence[tuple[Any, ...]], rejects: Sequence[tuple[str, str]]) -> int:
        """Store ``rows`` (driver_id, seq, the :data:`COLUMNS`, payload) and ``rejects``
        ((reason, line) pairs) in one transaction; returns how many rows were new (the
        rest: duplicates)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        stored = 0
        with self._lock, self.engine.begin() as conn:
            if rows:
                result = conn.exec_driver_sql(self._insert, [(*row, now) for row in rows])
                stored = max(0, int(result.rowcount))
            if rejects:
                conn.execute(
                    self.rejects.insert(),
                    [{"received_at": now, "reason": r, "line": line} for r, line in rejects],
                )
        return stored

    def ping(self) -> None:
        """Raises unless the store answers."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func, select

        with self.engine.connect() as conn:
            events = conn.execute(select(func.count()).select_from(self.events)).scalar_one()
            rejects = conn.execute(select(func.count()).select_from(self.rejects)).scalar_one()
        return {"events": int(events), "rejects": int(rejects)}

    def close(self) -> None:
        self.engine.dispose()


def ledger(url: str) -> Ledger:
    """What the events table holds per driver, for ``synthkit reconcile``."""
    return SqlLedger(
        make_engine(url, init_hint=INIT_HINT),
        EVENTS,
        client="driver_id",
        seq="seq",
        stored_at="stored_at",
        unique=True,
        where=redact(url),
        init_hint=INIT_HINT,
    )
