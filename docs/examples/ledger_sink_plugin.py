"""pairs: an ingest sink that can say what it stored, so `synthkit reconcile` reads it.

It keeps each row's (client, seq) in a table of a SQLite or PostgreSQL database, deduped on
both; its ledger is the core's SqlLedger over that table."""

from __future__ import annotations

from collections import Counter

from synthkit import hookimpl
from synthkit.api import (
    Batch,
    IngestSink,
    IngestTarget,
    SinkOptions,
    SinkReport,
    SinkSpec,
    SqlLedger,
    make_engine,
)

TABLE = "stored_pairs"


class PairsSink(IngestSink):
    def __init__(self, target: IngestTarget, options: SinkOptions) -> None:
        self.target, self.counts, self.records = target, Counter(), 0
        self.engine = make_engine(target.url, create=True)

    def open(self, columns: tuple[str, ...]) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {TABLE} (client TEXT NOT NULL, seq BIGINT NOT NULL, "
                    "stored_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, UNIQUE (client, seq))"
                )
            )

    def write(self, batch: Batch) -> None:
        from sqlalchemy import text

        client = batch.column("device_id")
        rows = [
            {"c": client.labels[i], "s": s}
            for i, s in zip(client.values.tolist(), batch.column("seq").values.tolist())
        ]
        with self.engine.begin() as conn:  # a write that raises has delivered none of its batch
            before = conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one()
            conn.execute(
                text(f"INSERT INTO {TABLE} (client, seq) VALUES (:c, :s) ON CONFLICT DO NOTHING"),
                rows,
            )
            stored = conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one() - before
        self.counts.update({"stored:NEW": stored, "duplicate:SEQ_ALREADY_STORED": batch.n - stored})
        self.records += batch.n

    def close(self) -> SinkReport:
        self.engine.dispose()
        return SinkReport("pairs", self.records, 0, None, +self.counts)

    def abort(self) -> None:
        self.engine.dispose()


def ledger(url: str) -> SqlLedger:
    """What the sink stored at ``url``: reconcile asks it with set-based SQL."""
    return SqlLedger(
        make_engine(url), TABLE, client="client", seq="seq", stored_at="stored_at", unique=True
    )


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [
        SinkSpec(
            kind="ingest",
            name="pairs",
            factory=PairsSink,
            ledger=ledger,
            description="(client, seq) pairs in a database table, reconcilable",
        )
    ]
