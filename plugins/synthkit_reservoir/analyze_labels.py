"""analyze-csv against a faulted export's labels: what the file shows (seq gaps, repeated
records, records out of order, stuck readings, drift) beside what the labels say was meant.

One columnar pass; memory holds a count per planned record (the manifest's seq spans, two
bytes each), each device's carried state and the runs found. What the labels explain is meant,
not a QC problem; what they do not is.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import numpy as np

from synthkit.api import Labels, iso_epoch, record_keys, split_keys
from synthkit_reservoir.analyze_signals import Fit, Runs, stuck_report
from synthkit_reservoir.csvfile import ExportCsv, fixed_times

EXAMPLES = 5  # unexplained records named per kind
_LOW = -(2**62)


class LabelPass:
    """Fed the export's record batches in file order by :meth:`add`; :meth:`report` compares."""

    def __init__(self, labels: Labels, manifest: dict[str, Any], export: ExportCsv) -> None:
        self.labels = labels
        self.index: dict[str, int] = {}
        spans = manifest.get("devices") or {}
        for name in spans:
            self.index[name] = len(self.index)
        self.first = np.array([int(s.get("first_seq", 0)) for s in spans.values()], np.int64)
        sizes = np.array([int(s.get("rows", 0)) for s in spans.values()], np.int64)
        self.step = np.array([float(s.get("step_seconds", 1)) for s in spans.values()])
        self.offset = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.sizes = sizes
        self.counts = np.zeros(int(self.offset[-1]), np.uint16)
        self.outside: list[np.ndarray] = []  # keys of records past their device's span
        self.keys = labels.keys(self.index)  # labels' streams numbered like the devices
        self.late: list[np.ndarray] = []  # keys of records behind their device's seq or time
        self.last_seq = np.zeros(0, np.int64)
        self.last_time = np.zeros(0, np.int64)
        self.stuck = {
            c: Runs()
            for c in _named(labels, ("stuck_at", "freeze"), export.header or [])
            if c in export.numbers()
        }
        self.drift = [
            (e, c, Fit(self._of(e["name"])))
            for e in labels.entries
            if e.get("type") == "drift"
            for c in _named_by(e, export.header or [])
        ]
        self.columns = sorted(
            {"device_id", "seq", "received_at", *self.stuck}.union(c for _, c, _ in self.drift)
        )
        self._names: dict[tuple[str, ...], np.ndarray] = {}

    def _of(self, name: str) -> np.ndarray:
        return np.sort(self.keys[self.labels.name == name])

    def add(self, batch: Any) -> None:
        if batch.num_rows == 0:
            return
        seq = batch.column("seq").fill_null(-1).to_numpy()
        codes = self._codes(batch.column("device_id"))
        ok = (seq >= 0) & (codes >= 0)
        order = np.flatnonzero(ok)[np.argsort(codes[ok], kind="stable")]  # per device, in order
        c, s = codes[order], seq[order]
        keys = record_keys(c, s)
        self._count(c, s, keys)
        times, valid = iso_epoch(fixed_times(batch.column("received_at"), batch.num_rows))
        t = np.where(valid, times, _LOW)[order]
        behind = _behind(c, s, self.last_seq) | (_behind(c, t, self.last_time) & valid[order])
        if behind.any():
            self.late.append(keys[behind])
        for name, runs in self.stuck.items():
            runs.add(c, s, batch.column(name).to_numpy(zero_copy_only=False)[order].astype(float))
        for _, name, fit in self.drift:
            days = s * self.step[np.minimum(c, len(self.step) - 1)] / 86_400.0
            fit.add(c, keys, days, batch.column(name).to_numpy(zero_copy_only=False)[order])

    def _codes(self, column: Any) -> np.ndarray:
        names = tuple(column.dictionary.to_pylist())
        if names not in self._names:
            self._names[names] = np.array(
                [self.index.setdefault(n, len(self.index)) for n in names]
            )
        grow = len(self.index) - len(self.last_seq)
        if grow > 0:
            self.last_seq = np.concatenate([self.last_seq, np.full(grow, _LOW, np.int64)])
            self.last_time = np.concatenate([self.last_time, np.full(grow, _LOW, np.int64)])
        codes = column.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return np.where(codes >= 0, self._names[names][np.maximum(codes, 0)], -1)

    def _count(self, c: np.ndarray, s: np.ndarray, keys: np.ndarray) -> None:
        planned = c < len(self.sizes)
        at = s - self.first[np.minimum(c, len(self.first) - 1)]
        inside = planned & (at >= 0) & (at < self.sizes[np.minimum(c, len(self.sizes) - 1)])
        where, times = np.unique(self.offset[c[inside]] + at[inside], return_counts=True)
        self.counts[where] = np.minimum(self.counts[where] + times, 65_535)
        if not inside.all():
            self.outside.append(keys[~inside])

    def _keys_at(self, places: np.ndarray) -> np.ndarray:
        """The record keys of places in ``counts`` (each device's span, one after another)."""
        device = np.searchsorted(self.offset, places, side="right") - 1
        return record_keys(device, places - self.offset[device] + self.first[device])

    def report(self) -> dict[str, Any]:
        """Per kind: ``seen`` in the file, ``labelled``, ``meant`` (both), ``unexplained``
        (seen, not labelled: a problem) and ``not_seen`` (labelled, not in the file)."""
        gaps = np.flatnonzero(self.counts == 0)
        twice = np.flatnonzero(self.counts > 1)
        missing = self._keys_at(gaps)
        extra = np.repeat(self._keys_at(twice), self.counts[twice].astype(np.int64) - 1)
        lab = self.labels
        repeated = np.repeat(self.keys, np.where(lab.effect == "repeated", lab.copies, 0))
        parts = {
            "seq_gaps": _compare(missing, self.keys[lab.effect == "dropped"]),
            "repeated_records": _compare(extra, repeated),
            "out_of_order": _compare(_cat(self.late), self.keys[lab.effect == "delayed"]),
            "outside_span": _compare(_cat(self.outside), np.zeros(0, np.int64)),
        }
        names = list(self.index)
        problems = []
        for kind, part in parts.items():
            devices, seqs = split_keys(part.pop("_unexplained")[:EXAMPLES])
            for device, seq in zip(devices.tolist(), seqs.tolist()):
                problems.append(f"{kind.replace('_', ' ')} not labelled: {names[device]} seq {seq}")
        stuck_keys = self.keys[np.isin(lab.fault, ["stuck_at", "freeze"])]
        return {
            "file": lab.path.name,
            "records": len(lab),
            **parts,
            "stuck_runs": stuck_report(self.stuck, stuck_keys),
            "drift": [fit.report(e, c) for e, c, fit in self.drift],
            "problems": problems,
        }


def _compare(seen: np.ndarray, labelled: np.ndarray) -> dict[str, Any]:
    """Multisets of record keys compared: a key twice in both is meant twice."""
    seen, labelled = np.sort(seen), np.sort(labelled)
    # the k-th copy of a key is (key, k): multisets compare as sets of pairs
    s, lab = _ranked(seen), _ranked(labelled)
    both = np.intersect1d(s, lab, assume_unique=True)
    unexplained = np.setdiff1d(s, lab, assume_unique=True)
    return {
        "seen": len(s),
        "labelled": len(lab),
        "meant": len(both),
        "unexplained": len(unexplained),
        "not_seen": len(lab) - len(both),
        "_unexplained": unexplained // 64,
    }


def _ranked(keys: np.ndarray) -> np.ndarray:
    """Sorted keys, each copy numbered: key * 64 + its rank among equal keys (< 64)."""
    if not len(keys):
        return keys
    starts = np.r_[0, np.flatnonzero(np.diff(keys)) + 1]
    rank = np.arange(len(keys)) - np.repeat(starts, np.diff(np.r_[starts, len(keys)]))
    return keys * 64 + np.minimum(rank, 63)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _behind(c: np.ndarray, v: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Rows (grouped by device, in file order) whose value is below the largest value their
    device had before them; ``last`` carries each device's largest across batches."""
    first = np.ones(len(c), bool)
    first[1:] = c[1:] != c[:-1]
    # one running maximum over the batch: a device's values offset above the devices before it
    shifted = (c << 42) + np.clip(v, 0, (1 << 42) - 1)
    running = np.maximum.accumulate(shifted) - (c << 42)
    before = np.maximum(np.where(first, _LOW, np.r_[_LOW, running[:-1]]), last[c])
    ends = np.flatnonzero(np.r_[first[1:], True])
    last[c[ends]] = np.maximum(last[c[ends]], running[ends])
    return v < before


def _named(labels: Labels, types: tuple[str, ...], header: list[str]) -> list[str]:
    return sorted(
        {c for e in labels.entries if e.get("type") in types for c in _named_by(e, header)}
    )


def _named_by(entry: dict[str, Any], header: list[str]) -> list[str]:
    pattern = str((entry.get("params") or {}).get("column") or "")
    return [h for h in header if pattern and fnmatch.fnmatchcase(h, pattern)]


def label_pass(
    path: Path, labels: Labels, manifest: dict[str, Any], on_rows: Any
) -> dict[str, Any]:
    """The whole pass over ``path``; rows of the wrong width are skipped (the QC pass names them)."""
    export = ExportCsv(path)
    found = LabelPass(labels, manifest, export)
    reader = export.records(found.columns, block_size=16 << 20, on_invalid=lambda row: "skip")
    try:
        for batch in reader:
            on_rows(batch.num_rows)
            found.add(batch)
    finally:
        reader.close()
    return found.report()
