"""One copy of each reconcile rule: the core's PairsLedger (numpy, for exported pairs and any
store that hands over its rows) and the reference database's SQL ledger (GROUP BY and
gaps-and-islands where the rows are) give the same tallies, islands and late counts for the
same stored rows, on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert
from synthkit_reservoir.database.engines import make_engine

from synthkit.api import FileLedger, Island, PairsLedger, SqlLedger, Tally

START = datetime(2026, 1, 1)


def stored_rows(seed: int) -> list[tuple[str, int, datetime]]:
    """Streams with gaps, duplicates, a lone seq, out-of-order storing and late rows."""
    rng = random.Random(seed)
    rows = []
    for n in range(12):
        client = f"D-{n:02d}"
        for seq in range(rng.randrange(0, 40), rng.randrange(40, 120)):
            if rng.random() < 0.15:  # a gap
                continue
            for _ in range(2 if rng.random() < 0.1 else 1):  # a duplicate
                rows.append((client, seq, START + timedelta(seconds=rng.randrange(0, 7200))))
    rows.append(("LONE", 7, START))
    rng.shuffle(rows)
    return rows


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def sql_ledger(request, tmp_path):
    def build(rows):
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path}/l.db"
        else:
            url = request.getfixturevalue("pg_database")
        engine = make_engine(url, create=True)
        table = Table(
            "stored",
            MetaData(),
            Column("client", String, nullable=False),
            Column("seq", Integer, nullable=False),
            Column("stored_at", DateTime, nullable=False),
        )
        table.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                insert(table), [{"client": c, "seq": s, "stored_at": t} for c, s, t in rows]
            )
        return SqlLedger(engine, "stored", client="client", seq="seq", stored_at="stored_at")

    return build


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pairs_and_sql_ledgers_answer_alike(sql_ledger, seed):
    rows = stored_rows(seed)
    sql, pairs = sql_ledger(rows), PairsLedger.of_rows(rows)
    streams = sorted({c for c, _, _ in rows}) + ["NEVER-STORED"]
    try:
        assert pairs.tallies(streams) == sql.tallies(streams)
        islands = pairs.islands(streams)
        assert islands == sql.islands(streams)
        assert islands["NEVER-STORED"] == [] and any(len(v) > 1 for v in islands.values())
        ranges = {c: (10, 60) for c in streams}
        for cut in (START + timedelta(minutes=30), START + timedelta(hours=3)):
            late = pairs.late(ranges, cut.replace(tzinfo=UTC))
            assert late == {k: v for k, v in sql.late(ranges, cut).items() if v}
    finally:
        sql.close()


def test_pairs_ledger_reads_what_reconcile_needs_by_hand():
    """The rules themselves, on a case small enough to check by eye."""
    rows = [("A", 0, None), ("A", 1, None), ("A", 1, None), ("A", 3, None), ("B", 5, None)]
    ledger = PairsLedger.of_rows(rows)
    assert ledger.tallies(["A", "B", "C"]) == {"A": Tally(4, 3, 0, 3), "B": Tally(1, 1, 5, 5)}
    assert ledger.islands(["A", "C"]) == {"A": [Island(0, 1, 3), Island(3, 3, 1)], "C": []}
    assert ledger.late({"A": (0, 3)}, datetime(2020, 1, 1, tzinfo=UTC)) == {}  # unknown: never late


def test_a_file_ledger_reads_times_in_any_offset(tmp_path):
    """Stored times compare as instants, not as text: +02:00 and Z forms of one moment agree."""
    path = tmp_path / "s.csv"
    path.write_text(
        "client,seq,stored_at\nA,0,2026-01-01T02:30:00+02:00\nA,1,2026-01-01T00:31:00Z\nA,2,\n"
    )
    ledger = FileLedger(path)
    assert ledger.late({"A": (0, 2)}, datetime(2026, 1, 1, 0, 30, 30, tzinfo=UTC)) == {"A": 1}
    path.write_text("client,seq,stored_at\nA,0,yesterday\n")
    with pytest.raises(Exception, match=r"s\.csv:2: stored_at 'yesterday' is not an ISO 8601"):
        FileLedger(path)
