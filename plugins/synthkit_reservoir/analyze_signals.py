"""What analyze-csv looks for in a faulted export's readings, per device in file order:
runs of one value (a stuck sensor) and a column's slope per day (drift), apart for the
records a fault labels and the rest."""

from __future__ import annotations

from typing import Any

import numpy as np

from synthkit.api import record_keys

MIN_STUCK_RUN = 6  # records reading one value in a row before a run counts as stuck


class Runs:
    """Runs of one value in a column, per device in file order: each run of at least
    MIN_STUCK_RUN records kept as (device, first seq, last seq). A device's last run in a
    batch is carried into the next."""

    def __init__(self) -> None:
        self.val = np.zeros(0)
        self.len = np.zeros(0, np.int64)  # 0: nothing carried
        self.first = np.zeros(0, np.int64)
        self.last = np.zeros(0, np.int64)
        self.found: list[np.ndarray] = []

    def add(self, c: np.ndarray, s: np.ndarray, v: np.ndarray) -> None:
        n = len(c)
        if not n:
            return
        self._grow(int(c.max()) + 1)
        starts = np.ones(n, bool)
        starts[1:] = (c[1:] != c[:-1]) | (v[1:] != v[:-1])  # NaN never equals: no run
        a = np.flatnonzero(starts)
        b = np.r_[a[1:], n] - 1
        d = c[a]
        opens = np.r_[True, d[1:] != d[:-1]]  # a device's first run in the batch
        closes = np.r_[d[1:] != d[:-1], True]  # its last: carried on
        cont = opens & (self.len[d] > 0) & (self.val[d] == v[a])
        ended = opens & ~cont & (self.len[d] > 0)  # a carried run the batch does not go on
        self._keep(d[ended], self.len[d[ended]], self.first[d[ended]], self.last[d[ended]])
        length = b - a + 1 + np.where(cont, self.len[d], 0)
        first = np.where(cont, self.first[d], s[a])
        self._keep(d[~closes], length[~closes], first[~closes], s[b][~closes])
        dc = d[closes]
        self.val[dc], self.len[dc] = v[a][closes], length[closes]
        self.first[dc], self.last[dc] = first[closes], s[b][closes]

    def _grow(self, k: int) -> None:
        if k > len(self.len):
            pad = k - len(self.len)
            self.val = np.r_[self.val, np.full(pad, np.nan)]
            self.len, self.first, self.last = (
                np.r_[x, np.zeros(pad, np.int64)] for x in (self.len, self.first, self.last)
            )

    def _keep(self, d: np.ndarray, length: np.ndarray, first: np.ndarray, last: np.ndarray) -> None:
        long = length >= MIN_STUCK_RUN
        if long.any():
            self.found.append(np.stack([d[long], first[long], last[long]], axis=1))

    def runs(self) -> np.ndarray:
        """Every run found, those still carried included (once: the carry is emptied)."""
        held = np.flatnonzero(self.len)
        self._keep(held, self.len[held], self.first[held], self.last[held])
        self.len[:] = 0
        return np.concatenate(self.found) if self.found else np.zeros((0, 3), np.int64)


def stuck_report(columns: dict[str, Runs], labelled: np.ndarray) -> dict[str, Any]:
    """Stuck runs in the columns stuck faults name: how many hold a labelled record, how many
    labelled records lie in one."""
    labelled = np.unique(labelled)
    covered = np.zeros(len(labelled), bool)
    runs = with_label = 0
    for found in columns.values():
        found_runs = found.runs()
        lo = np.searchsorted(labelled, record_keys(found_runs[:, 0], found_runs[:, 1]))
        hi = np.searchsorted(labelled, record_keys(found_runs[:, 0], found_runs[:, 2]), "right")
        runs += len(found_runs)
        with_label += int((hi > lo).sum())
        for a, b in zip(lo[hi > lo].tolist(), hi[hi > lo].tolist()):
            covered[a:b] = True
    return {
        "columns": sorted(columns),
        "min_run": MIN_STUCK_RUN,
        "runs_seen": runs,
        "runs_labelled": with_label,
        "runs_unlabelled": runs - with_label,
        "labelled_records": len(labelled),
        "labelled_records_in_a_run": int(covered.sum()),
    }


def among(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Which ``keys`` are in ``sorted_keys`` (bisection: a hash set of the batch costs more)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


class Fit:
    """Least-squares slope per day of one column, per device, apart for the records a drift
    entry labels and for the rest."""

    def __init__(self, labelled: np.ndarray) -> None:
        self.labelled = np.unique(labelled)  # sorted: looked up by bisection
        self.sums: dict[bool, np.ndarray] = {}

    def add(self, c: np.ndarray, keys: np.ndarray, days: np.ndarray, v: np.ndarray) -> None:
        v = np.asarray(v, float)
        hit = among(keys, self.labelled)
        for side in (True, False):
            m = (hit == side) & ~np.isnan(v)
            k = int(c.max()) + 1 if len(c) else 0
            parts = [np.ones(int(m.sum())), days[m], v[m], days[m] * v[m], days[m] ** 2]
            add = np.stack([np.bincount(c[m], weights=p, minlength=k) for p in parts])
            old = self.sums.get(side, np.zeros((5, 0)))
            if old.shape[1] < k:
                old = np.pad(old, ((0, 0), (0, k - old.shape[1])))
            old[:, :k] += add
            self.sums[side] = old

    def report(self, entry: dict[str, Any], column: str) -> dict[str, Any]:
        """Mean slopes over the devices the entry labels and over those it never does."""
        hit = self.sums.get(True, np.zeros((5, 0)))
        labelled = np.zeros(max(hit.shape[1], self.sums.get(False, hit).shape[1]), bool)
        labelled[: hit.shape[1]] = hit[0] > 0

        def slopes(side: bool) -> list[float]:
            n, t, v, tv, tt = self.sums.get(side, np.zeros((5, 0)))
            var = n * tt - t * t
            ok = (n >= 3) & (var > 1e-12) & (labelled[: len(n)] == side)
            return ((n[ok] * tv[ok] - t[ok] * v[ok]) / var[ok]).tolist()

        report = {
            "name": entry.get("name"),
            "column": column,
            "per_day": (entry.get("params") or {}).get("per_day"),
        }
        return drift_means(report, slopes(True), slopes(False))


def drift_means(report: dict[str, Any], on: list[float], off: list[float]) -> dict[str, Any]:
    """A drift report's mean slopes over the devices' slopes (``_on``, ``_off`` kept, for a
    dataset's parts to be taken together)."""
    mean_on = float(np.mean(on)) if on else None
    mean_off = float(np.mean(off)) if off else None
    return {
        **report,
        "slope_per_day_labelled": None if mean_on is None else round(mean_on, 4),
        "slope_per_day_unlabelled": None if mean_off is None else round(mean_off, 4),
        "seen_per_day": None
        if mean_on is None or mean_off is None
        else round(mean_on - mean_off, 4),
        "_on": on,
        "_off": off,
    }
