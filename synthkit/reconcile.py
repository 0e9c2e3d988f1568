"""Reconcile: what run records say was emitted, against what a ledger says was stored.

Per stream, the expected seqs are the union of its ranges over the records; each is then
complete, or has missing ranges (leading and trailing gaps included: the range comes from
the record, not from the seqs that happened to arrive), duplicates, rows stored outside
every record's range (``unexpected``), and rows of a live run stored more than
``late_after_s`` after the run ended (``late``). Most streams are settled by one ``GROUP
BY`` pass (:meth:`Ledger.tallies`); only the others are read as islands of consecutive seqs.

The report is JSON: ``missing_ranges`` maps each run id to its streams' missing ranges, which
is what ``synthkit replay`` re-emits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from synthkit.ledger import Island, Ledger, Tally
from synthkit.runs import RunRecord, topic_filter, where_stored

Ranges = list[tuple[int, int]]


def merge(ranges: Sequence[tuple[int, int]]) -> Ranges:
    """Sorted, overlapping or touching ranges joined."""
    out: Ranges = []
    for lo, hi in sorted(r for r in ranges if r[1] >= r[0]):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def subtract(a: Ranges, b: Ranges) -> Ranges:
    """The seqs of ``a`` not in ``b`` (both merged)."""
    out: Ranges = []
    j = 0
    for lo, hi in a:
        cur = lo
        while j < len(b) and b[j][1] < cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return out


def size(ranges: Ranges) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


def _complete(expected: Ranges, tally: Tally | None) -> bool:
    if tally is None or len(expected) != 1:
        return False
    lo, hi = expected[0]
    n = hi - lo + 1
    return tally.rows == tally.distinct == n and (tally.low, tally.high) == (lo, hi)


def reconcile_records(
    records: Sequence[RunRecord], ledger: Ledger, *, late_after_s: float = 60.0
) -> dict[str, Any]:
    """The reconcile report (JSON-ready) of ``records`` against ``ledger``."""
    expected: dict[str, Ranges] = {}
    for record in records:
        for stream, r in record.streams.items():
            if r.count:
                expected.setdefault(stream, []).append((r.first_seq, r.last_seq))
    expected = {s: merge(r) for s, r in expected.items()}
    streams = sorted(expected)
    tallies = ledger.tallies(streams)
    open_streams = [s for s in streams if not _complete(expected[s], tallies.get(s))]
    islands = ledger.islands(open_streams)
    late = _late(records, ledger, late_after_s)

    per_stream: dict[str, dict[str, Any]] = {}
    missing_of: dict[str, Ranges] = {}
    totals = {"expected": 0, "stored": 0, "missing": 0, "duplicates": 0, "unexpected": 0, "late": 0}
    for s in streams:
        want = expected[s]
        n_expected = size(want)
        if s in islands:
            have = merge([(i.low, i.high) for i in islands[s]])
            missing = subtract(want, have)
            unexpected = size(subtract(have, want))
            duplicates = sum(i.rows - (i.high - i.low + 1) for i in islands[s])
        else:
            missing, unexpected, duplicates = [], 0, 0
        stored = n_expected - size(missing)
        row = {
            "expected": n_expected,
            "stored": stored,
            "missing": size(missing),
            "duplicates": duplicates,
            "unexpected": unexpected,
            "late": late.get(s, 0),
        }
        for key, value in row.items():
            totals[key] += value
        if missing or duplicates or unexpected or row["late"]:
            per_stream[s] = {**row, "missing_ranges": [list(r) for r in missing]}
        if missing:
            missing_of[s] = missing

    by_run: dict[str, dict[str, list[list[int]]]] = {}
    for record in records:  # each missing seq belongs to the one record whose range holds it
        for stream, r in record.streams.items():
            if stream in missing_of and r.count:
                part = [
                    (max(lo, r.first_seq), min(hi, r.last_seq))
                    for lo, hi in missing_of[stream]
                    if hi >= r.first_seq and lo <= r.last_seq
                ]
                if part:
                    by_run.setdefault(record.run_id, {})[stream] = [list(x) for x in part]
    complete = totals["missing"] == 0 and totals["duplicates"] == 0
    return {
        "command": "reconcile",
        "store": ledger.where,
        "runs": [r.run_id for r in records],
        "complete": complete,
        **totals,
        "streams_expected": len(streams),
        "streams_incomplete": sum(
            1 for s in per_stream.values() if s["missing"] or s["duplicates"]
        ),
        "missing_ranges": by_run,
        "streams": per_stream,
    }


def records_for(
    records: Sequence[RunRecord],
    store: str,
    *,
    broker: str | None = None,
    subscription: str | None = None,
) -> tuple[list[RunRecord], list[dict[str, str]]]:
    """(the records whose rows belong in ``store``, the others each with why it was left out).
    With ``broker`` and ``subscription`` (a listener's view): the live runs published there on a
    topic the subscription hears, whose record names ``store`` or no store at all."""
    kept: list[RunRecord] = []
    left_out: list[dict[str, str]] = []
    for record in records:
        why = _why_not(record, store, broker, subscription)
        if why:
            left_out.append({"run_id": record.run_id, "command": record.command, "reason": why})
        else:
            kept.append(record)
    return kept, left_out


def _why_not(record: RunRecord, store: str, broker: str | None, subscription: str | None) -> str:
    stored = where_stored(record)
    if broker is None:
        if not stored:
            return (
                f"a live run to {record.target} that named no store (`run --db-url`); "
                f"give --run {record.run_id} to count it here"
            )
        return "" if stored == store else f"its rows went to {stored}"
    if not record.live:
        return "not published to a broker"
    if record.target != broker:
        return f"published to {record.target}"
    if record.topic and subscription is not None and topic_filter(record.topic) != subscription:
        return f"published on {record.topic}, which {subscription} does not hear"
    return f"its rows are meant for {stored}" if stored and stored != store else ""


def _late(records: Sequence[RunRecord], ledger: Ledger, late_after_s: float) -> dict[str, int]:
    """Rows of live runs stored more than ``late_after_s`` after the run ended."""
    out: dict[str, int] = {}
    for record in records:
        if not record.live or not record.finished_at:
            continue
        ended = datetime.fromisoformat(record.finished_at.replace("Z", "+00:00"))
        ranges = {s: (r.first_seq, r.last_seq) for s, r in record.streams.items() if r.count}
        for stream, n in ledger.late(ranges, ended + timedelta(seconds=late_after_s)).items():
            out[stream] = out.get(stream, 0) + n
    return out


__all__ = ["Island", "merge", "reconcile_records", "records_for", "subtract"]
