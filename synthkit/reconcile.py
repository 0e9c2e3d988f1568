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

from collections.abc import Callable, Sequence
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
    """The reconcile report (JSON-ready) of ``records`` against ``ledger``. What the runs'
    faults dropped or repeated on purpose (their labels) is counted as meant: not missing,
    not a duplicate, never replayed."""
    dropped, repeated = _meant(records)
    expected = {s: subtract(r, dropped.get(s, [])) for s, r in _expected(records).items()}
    streams = sorted(expected)
    tallies = ledger.tallies(streams)
    open_streams = {s for s in streams if not _complete(expected[s], tallies.get(s))}
    islands = ledger.islands(sorted(open_streams))
    late = _late(records, ledger, late_after_s)

    per_stream: dict[str, dict[str, Any]] = {}
    missing_of: dict[str, Ranges] = {}
    totals = dict.fromkeys(("expected", "stored", "missing", "duplicates", "unexpected", "late"), 0)
    for s in streams:  # a ledger may leave out an open stream that holds nothing: all missing
        held = islands.get(s, []) if s in open_streams else None
        row, missing = _stream(expected[s], held, late.get(s, 0))
        row["duplicates"] = max(0, row["duplicates"] - repeated.get(s, 0))
        for key, value in row.items():
            totals[key] += value
        if missing or row["duplicates"] or row["unexpected"] or row["late"]:
            per_stream[s] = {**row, "missing_ranges": [list(r) for r in missing]}
        if missing:
            missing_of[s] = missing
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
        "missing_ranges": _missing_by_run(records, missing_of),
        "streams": per_stream,
        **(
            {
                "meant": {
                    "dropped": sum(map(size, dropped.values())),
                    "repeated": sum(repeated.values()),
                }
            }
            if dropped or repeated
            else {}
        ),
    }


def _meant(records: Sequence[RunRecord]) -> tuple[dict[str, Ranges], dict[str, int]]:
    """Per stream, the seqs the runs' faults dropped on purpose and the extra copies they
    sent, from each record's labels (a run that failed left none: nothing is meant)."""
    import json
    from pathlib import Path

    dropped: dict[str, list[tuple[int, int]]] = {}
    repeated: dict[str, int] = {}
    for record in records:
        path = Path(record.labels) if record.labels else None
        if path is None or not path.is_file():
            continue
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if '"effect":"dropped"' not in line and '"effect":"repeated"' not in line:
                    continue  # a changed value is delivered: nothing for reconcile
                label = json.loads(line)
                stream, seq, have = label["stream"], int(label["seq"]), None
                have = record.streams.get(stream)
                if have is None or not have.first_seq <= seq <= have.last_seq:
                    continue
                if label["effect"] == "dropped":
                    dropped.setdefault(stream, []).append((seq, seq))
                else:
                    repeated[stream] = repeated.get(stream, 0) + int(label.get("copies", 1))
    return {s: merge(r) for s, r in dropped.items()}, repeated


def _expected(records: Sequence[RunRecord]) -> dict[str, Ranges]:
    """Each stream's seqs the runs emitted, as merged ranges."""
    expected: dict[str, Ranges] = {}
    for record in records:
        for stream, r in record.streams.items():
            if r.count:
                expected.setdefault(stream, []).append((r.first_seq, r.last_seq))
    return {s: merge(r) for s, r in expected.items()}


def _stream(want: Ranges, islands: Any, late: int) -> tuple[dict[str, int], Ranges]:
    """(one stream's counts, its missing ranges) from what the store holds of it: ``islands``
    None when its tally already showed it complete."""
    if islands is not None:
        have = merge([(i.low, i.high) for i in islands])
        missing = subtract(want, have)
        unexpected = size(subtract(have, want))
        duplicates = sum(i.rows - (i.high - i.low + 1) for i in islands)
    else:
        missing, unexpected, duplicates = [], 0, 0
    n_expected = size(want)
    row = {
        "expected": n_expected,
        "stored": n_expected - size(missing),
        "missing": size(missing),
        "duplicates": duplicates,
        "unexpected": unexpected,
        "late": late,
    }
    return row, missing


def _missing_by_run(
    records: Sequence[RunRecord], missing_of: dict[str, Ranges]
) -> dict[str, dict[str, list[list[int]]]]:
    """Each missing seq under the one record whose range holds it (what replay re-emits)."""
    by_run: dict[str, dict[str, list[list[int]]]] = {}
    for record in records:
        for stream, r in record.streams.items():
            if stream in missing_of and r.count:
                part = [
                    (max(lo, r.first_seq), min(hi, r.last_seq))
                    for lo, hi in missing_of[stream]
                    if hi >= r.first_seq and lo <= r.last_seq
                ]
                if part:
                    by_run.setdefault(record.run_id, {})[stream] = [list(x) for x in part]
    return by_run


def records_for(
    records: Sequence[RunRecord],
    store: str,
    *,
    broker: str | None = None,
    subscription: str | None = None,
    identify: Callable[[str], str] | None = None,
) -> tuple[list[RunRecord], list[dict[str, str]]]:
    """(the records whose rows belong in ``store``, the others each with why it was left out).
    With ``broker`` and ``subscription`` (a listener's view): the live runs published there on a
    topic the subscription hears, whose record names ``store`` or no store at all. ``identify``
    names the store of a record that gives only its target (``Plugins.store_identity``)."""
    kept: list[RunRecord] = []
    left_out: list[dict[str, str]] = []
    for record in records:
        why = _why_not(record, store, broker, subscription, identify)
        if why:
            left_out.append({"run_id": record.run_id, "command": record.command, "reason": why})
        else:
            kept.append(record)
    return kept, left_out


def _why_not(
    record: RunRecord,
    store: str,
    broker: str | None,
    subscription: str | None,
    identify: Callable[[str], str] | None,
) -> str:
    stored = where_stored(record, identify)
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
