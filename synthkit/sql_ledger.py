"""A ledger of one SQL table: what it holds, per stream, asked with set-based SQL (what an
ingest sink's ``SinkSpec.ledger`` returns for ``synthkit reconcile``).

- tallies: one ``GROUP BY`` pass (rows, distinct seqs, lowest and highest seq per client);
- islands: gaps-and-islands (``seq - DENSE_RANK()`` is constant along a run of consecutive
  seqs), for the streams that are not simply complete;
- late: rows of given seq ranges stored after an instant.

The core's ``PairsLedger`` answers the same questions from columns in memory; a test holds
the two to the same answers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from synthkit.ledger import Island, Ledger, Tally
from synthkit.sql_store import describe_db_error


class SqlLedger(Ledger):
    """One table of a SQLAlchemy database: ``client`` and ``seq`` columns, optionally the
    ``stored_at`` column (a timestamp) and whether (client, seq) is unique there. ``where``
    names the store in messages (a redacted URL); ``init_hint`` says how its tables are made."""

    def __init__(
        self,
        engine: Any,
        table: str,
        *,
        client: str,
        seq: str,
        stored_at: str | None = None,
        unique: bool = False,
        where: str = "",
        dispose: bool = True,
        init_hint: str = "",
    ) -> None:
        from sqlalchemy import column
        from sqlalchemy import table as sql_table

        cols: list[Any] = [column(client), column(seq)] + ([column(stored_at)] if stored_at else [])
        self.engine, self.t, self.unique, self.dispose = (
            engine,
            sql_table(table, *cols),
            unique,
            dispose,
        )
        self.client, self.seq = self.t.c[client], self.t.c[seq]
        self.stored_at = self.t.c[stored_at] if stored_at else None
        self.where, self.init_hint = where or table, init_hint

    @contextlib.contextmanager
    def _answering(self) -> Iterator[Any]:
        """A connection; a database error is a ConfigError naming the store."""
        from sqlalchemy.exc import DBAPIError

        try:
            with self.engine.connect() as conn:
                _sort_tuned(conn)
                yield conn
        except DBAPIError as exc:
            raise describe_db_error(self.where, exc, init_hint=self.init_hint) from None

    def tallies(self, streams: Sequence[str]) -> dict[str, Tally]:
        from sqlalchemy import func, select

        distinct = func.count() if self.unique else func.count(self.seq.distinct())
        query = select(
            self.client, func.count(), distinct, func.min(self.seq), func.max(self.seq)
        ).group_by(self.client)
        wanted = set(streams)
        with self._answering() as conn:
            return {
                c: Tally(int(n), int(d), int(lo), int(hi))
                for c, n, d, lo, hi in conn.execute(query)
                if c in wanted
            }

    def islands(self, streams: Sequence[str]) -> dict[str, list[Island]]:
        from sqlalchemy import bindparam, func, select

        out: dict[str, list[Island]] = {s: [] for s in streams}
        if not streams:
            return out
        rank = func.dense_rank().over(partition_by=self.client, order_by=self.seq)
        inner = (
            select(self.client.label("c"), self.seq.label("s"), (self.seq - rank).label("g"))
            .where(self.client.in_(bindparam("streams", expanding=True)))
            .subquery()
        )
        query = (
            select(inner.c.c, func.min(inner.c.s), func.max(inner.c.s), func.count())
            .group_by(inner.c.c, inner.c.g)
            .order_by(inner.c.c, func.min(inner.c.s))
        )
        with self._answering() as conn:
            for chunk in _chunks(list(streams), 500):
                for c, lo, hi, n in conn.execute(query, {"streams": chunk}):
                    out[c].append(Island(int(lo), int(hi), int(n)))
        return out

    def late(self, ranges: Mapping[str, tuple[int, int]], after: datetime) -> dict[str, int]:
        from sqlalchemy import and_, func, or_, select

        if self.stored_at is None or not ranges:
            return {}
        out: dict[str, int] = {}
        with self._answering() as conn:
            for chunk in _chunks(
                sorted(ranges.items()), 200
            ):  # an OR per stream: SQLite has no VALUES aliases
                wanted = or_(
                    *(and_(self.client == c, self.seq.between(lo, hi)) for c, (lo, hi) in chunk)
                )
                query = (
                    select(self.client, func.count())
                    .where(self.stored_at > after, wanted)
                    .group_by(self.client)
                )
                out.update({c: int(n) for c, n in conn.execute(query)})
        return out

    def close(self) -> None:
        if self.dispose:
            self.engine.dispose()


def _sort_tuned(conn: Any) -> None:
    """SQLite groups by sorting: let its sorter use worker threads, and size its in-memory runs
    from the default page cache (an ingestion engine's 128 MiB cache makes one large in-memory
    sort, measured 1.7x slower on 10M rows: benchmarks/bench_reconcile.py)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA threads={min(4, os.cpu_count() or 1)}")
        conn.exec_driver_sql("PRAGMA cache_size=-2000")


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
