"""The analytics consumer: folds new telemetry into the ``reservoir_daily`` read model.

It reads telemetry after its cursor (``analytics_cursor.last_telemetry_id``) in batches of
``batch_size`` rows, aggregates them per (reservoir, UTC day), merges the aggregates into
``reservoir_daily`` (count, min, max, sum of level; last liters) and moves the cursor, all in
one transaction per batch: a crash never counts a row twice, and a re-run resumes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, insert, select, update

from synthkit_reservoir.database.schema import analytics_cursor, reservoir_daily, telemetry

CONSUMER = "reservoir_daily"


def drain(engine: Engine, batch_size: int = 200) -> dict[str, Any]:
    """Process every telemetry row not yet seen; returns what was folded in."""
    if batch_size < 1:
        raise ValueError("analytics batch size must be at least 1")
    rows_done = batches = 0
    while True:
        with engine.begin() as conn:
            cursor = conn.execute(
                select(analytics_cursor.c.last_telemetry_id).where(analytics_cursor.c.consumer == CONSUMER)
            ).scalar_one_or_none()
            if cursor is None:
                conn.execute(insert(analytics_cursor).values(consumer=CONSUMER, last_telemetry_id=0))
                cursor = 0
            new = conn.execute(
                select(telemetry.c.id, telemetry.c.reservoir_id, telemetry.c.received_at,
                       telemetry.c.level_pct, telemetry.c.liters)
                .where(telemetry.c.id > cursor).order_by(telemetry.c.id).limit(batch_size)
            ).all()  # fmt: skip
            if not new:
                break
            groups: dict[tuple, list] = defaultdict(list)
            for row in new:
                groups[(row.reservoir_id, row.received_at.date())].append(row)
            for (rid, day), members in groups.items():
                _merge(conn, rid, day, members)
            conn.execute(
                update(analytics_cursor).where(analytics_cursor.c.consumer == CONSUMER)
                .values(last_telemetry_id=new[-1].id)
            )  # fmt: skip
            rows_done += len(new)
            batches += 1
    return {"analytics_rows_processed": rows_done, "analytics_batches": batches}


def _merge(conn, rid, day, members: list) -> None:  # noqa: ANN001
    levels = [m.level_pct for m in members]
    last = max(members, key=lambda m: (m.received_at, m.id))
    where = (reservoir_daily.c.reservoir_id == rid) & (reservoir_daily.c.day == day)
    have = conn.execute(select(reservoir_daily).where(where)).first()
    if have is None:
        conn.execute(insert(reservoir_daily).values(
            reservoir_id=rid, day=day, samples=len(levels), level_min=min(levels),
            level_max=max(levels), level_sum=sum(levels), liters_last=last.liters,
            last_received_at=last.received_at,
        ))  # fmt: skip
        return
    newer = _naive(last.received_at) >= _naive(have.last_received_at)
    conn.execute(update(reservoir_daily).where(where).values(
        samples=have.samples + len(levels), level_min=min(have.level_min, min(levels)),
        level_max=max(have.level_max, max(levels)), level_sum=have.level_sum + sum(levels),
        liters_last=last.liters if newer else have.liters_last,
        last_received_at=last.received_at if newer else have.last_received_at,
    ))  # fmt: skip


def _naive(t):  # noqa: ANN001, ANN202 - SQLite returns naive datetimes, PostgreSQL aware ones
    return t.replace(tzinfo=None)
