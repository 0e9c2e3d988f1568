"""Counter-based randomness: every random number is a pure function of (key, counter).

Why not ``random.Random`` or a numpy ``Generator``: a counter-based stream needs no state, so
a device's numbers do not depend on how many other devices exist, on batch sizes, or on the
order work is done in, and the same stream is available in numpy, in compiled kernels and in
plain Python. SplitMix64 (Steele et al., 2014) is the mixer: fast, and a bijection on 64 bits,
so distinct counters under one key never collide.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np
from numba import njit

GAMMA = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1
_TO_UNIT = 1.0 / (1 << 53)


def stable_key(*parts: object) -> int:
    """A 64-bit key from any printable parts, stable across runs and machines (never ``hash()``)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def mix64(x: int) -> int:
    """SplitMix64 finaliser on a Python int (the scalar twin of :func:`mix64_nb`)."""
    z = x & _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def word(key: int, counter: int) -> int:
    """The ``counter``-th 64-bit word of stream ``key``."""
    return mix64(key + (counter + 1) * GAMMA)


@njit(inline="always", nogil=True, cache=True)
def mix64_nb(x: np.uint64) -> np.uint64:
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


@njit(inline="always", nogil=True, cache=True)
def word_nb(key: np.uint64, counter: np.uint64) -> np.uint64:
    return mix64_nb(key + (counter + np.uint64(1)) * np.uint64(GAMMA))


@njit(inline="always", nogil=True, cache=True)
def unit_nb(key: np.uint64, counter: np.uint64) -> float:
    """A uniform double in [0, 1) from 53 bits of the word."""
    return float(word_nb(key, counter) >> np.uint64(11)) * _TO_UNIT


def words(keys: np.ndarray, counter: int) -> np.ndarray:
    """Vectorised :func:`word`: one word per key, all at the same counter."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) + np.uint64((counter + 1) * GAMMA & _MASK)
        z ^= z >> np.uint64(30)
        z *= np.uint64(_M1)
        z ^= z >> np.uint64(27)
        z *= np.uint64(_M2)
        z ^= z >> np.uint64(31)
    return z


def uniforms(keys: np.ndarray, counter: int) -> np.ndarray:
    """Vectorised uniforms in [0, 1), one per key."""
    return (words(keys, counter) >> np.uint64(11)).astype(np.float64) * _TO_UNIT


class KeyedRandom(random.Random):
    """A ``random.Random`` whose stream is (key, 0), (key, 1), ...

    Plugin code written in the seed's style (``def attrs(rng: random.Random)``) gets one of
    these per row, so its output is as reproducible as the built-in vectorised code.
    """

    def __init__(self, key: int = 0) -> None:
        self._key = key & _MASK
        self._n = 0
        super().__init__(0)

    def reset(self, key: int) -> None:
        self._key = key & _MASK
        self._n = 0
        self.gauss_next = None

    def seed(self, a: object = None, version: int = 2) -> None:  # Random API
        if isinstance(a, int) and hasattr(self, "_key"):
            self.reset(a)

    def random(self) -> float:
        w = word(self._key, self._n)
        self._n += 1
        return (w >> 11) * _TO_UNIT

    def getrandbits(self, k: int) -> int:
        out = 0
        filled = 0
        while filled < k:
            out |= word(self._key, self._n) << filled
            self._n += 1
            filled += 64
        return out & ((1 << k) - 1)

    def getstate(self) -> tuple[int, int]:
        return (self._key, self._n)

    def setstate(self, state: tuple[int, int]) -> None:  # type: ignore[override]
        self._key, self._n = state
