"""What a fault draws from: random numbers per record, pure functions of the run's seed, the
fault's place in its block, and each record's stream and seq (never the batch), drawn in one
compiled pass over the records a fault hits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from synthkit.rand import uniforms, unit_nb, word_nb, words

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class Draws:
    """Random numbers per record of one fault: a pure function of the run's seed, the
    fault's place in the block, the record's stream and its seq (never the batch)."""

    def __init__(self, keys: np.ndarray | RecordKeys, rows: np.ndarray | None = None) -> None:
        # drawn only for ``rows`` (the records a fault hits; 0 elsewhere): most hit few
        self._keys, self.rows = keys, rows

    @property
    def keys(self) -> np.ndarray:
        """Each row's key (0 outside ``rows``)."""
        if isinstance(self._keys, RecordKeys):
            self._keys = self._keys.all(self.rows)
        return self._keys

    def _at_rows(self, k: int) -> np.ndarray:
        if isinstance(self._keys, RecordKeys):  # one compiled pass, no keys kept
            return self._keys.uniforms(self.rows, k)
        if self.rows is None:
            return uniforms(self.keys, k)
        out = np.zeros(len(self.rows), np.float64)
        out[self.rows] = uniforms(self.keys[self.rows], k)
        return out

    def uniform(self, k: int = 0) -> np.ndarray:
        """One uniform in [0, 1) per row (``k``: which draw)."""
        return self._at_rows(k)

    def normal(self, k: int = 0) -> np.ndarray:
        """One standard normal per row (Box-Muller over draws ``2k`` and ``2k + 1``)."""
        u1 = 1.0 - self._at_rows(2 * k)  # (0, 1]: log is finite
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * self._at_rows(2 * k + 1))


@dataclass(frozen=True)
class RecordKeys:
    """What a batch's per-record keys are made of (:func:`record_keys`), for drawing in one
    compiled pass instead of a dozen numpy ones: the fault's key, each stream's key, each
    row's stream code and seq."""

    key: int
    stream_keys: np.ndarray  # uint64 per stream label
    codes: np.ndarray  # int per row
    seq: np.ndarray  # int per row

    def all(self, rows: np.ndarray | None) -> np.ndarray:
        n = len(self.codes)
        rows = np.ones(n, bool) if rows is None else rows
        out = np.zeros(n, np.uint64)
        out[rows] = record_keys(self.key, self.stream_keys[self.codes[rows]], self.seq[rows])
        return out

    def uniforms(self, rows: np.ndarray | None, k: int) -> np.ndarray:
        rows = np.ones(len(self.codes), bool) if rows is None else rows
        return _record_uniforms(
            np.uint64(self.key), self.stream_keys, self.codes, self.seq, rows, np.uint64(k)
        )


@njit(nogil=True, cache=True)
def _record_uniforms(
    key: np.uint64,
    stream_keys: np.ndarray,
    codes: np.ndarray,
    seq: np.ndarray,
    rows: np.ndarray,
    k: np.uint64,
) -> np.ndarray:
    """``uniforms(record_keys(...), k)`` where ``rows``, 0 elsewhere: the same numbers."""
    out = np.zeros(len(codes), np.float64)
    for i in range(len(codes)):
        if rows[i]:
            mixed = stream_keys[codes[i]] ^ key ^ (np.uint64(seq[i]) * GOLDEN)
            out[i] = unit_nb(word_nb(mixed, np.uint64(0)), k)
    return out


def record_keys(key: int, stream_keys: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """The per-record keys a fault draws from."""
    with np.errstate(over="ignore"):
        mixed = stream_keys ^ np.uint64(key) ^ (seq.astype(np.uint64) * GOLDEN)
    return words(mixed, 0)
