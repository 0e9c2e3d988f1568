"""pairs: an ingest sink that can say what it stored, so `synthkit reconcile` reads it.

It keeps each row's (client, seq) in a table of a SQLite or PostgreSQL database, deduped on
both (SQLAlchemy, so any database it speaks). Its ledger reads the stored pairs into the
core's PairsLedger, which answers reconcile's questions with numpy; a store of billions of
rows would answer them in SQL where the rows are, as the reference database does."""

from __future__ import annotations

from collections import Counter

from synthkit import hookimpl
from synthkit.api import (
    Batch,
    ConfigError,
    IngestSink,
    IngestTarget,
    PairsLedger,
    SinkOptions,
    SinkReport,
    SinkSpec,
    redact,
)

TABLE = "stored_pairs"


class PairsSink(IngestSink):
    def __init__(self, target: IngestTarget, options: SinkOptions) -> None:
        self.target, self.counts, self.records = target, Counter(), 0
        from sqlalchemy import create_engine

        self.engine = create_engine(target.url)

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


def ledger(url: str) -> PairsLedger:
    """What the sink stored at ``url``: its (client, seq, stored_at) rows, for reconcile."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(f"SELECT client, seq, stored_at FROM {TABLE}"))
            return PairsLedger.of_rows(rows, where=redact(url))
    except DBAPIError as exc:  # the Ledger contract: a store that cannot answer, in one line
        raise ConfigError(
            f"{redact(url)}: {exc.orig}", hint="deliver to it with --sink pairs first"
        ) from None
    finally:
        engine.dispose()


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
