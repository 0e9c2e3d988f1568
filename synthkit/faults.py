"""Faults a scenario declares (its ``faults:`` block), for any family: each entry names a
fault type (a plugin's :class:`~synthkit.records.FaultType`), the devices it hits, a time
window and the type's parameters::

    faults:
      - type: stuck_at
        devices: {group: north, share: 0.25}   # ids, group, archetype, and/or a seeded share
        window: {start: 2026-03-01T00:00:00Z, end: 2026-03-02T00:00:00Z}
        column: raw_*
        value: 0

A window is absolute (``start``/``end``), relative to the run (``after``/``for``: ``90m``,
``2h``, ``3d``), recurring (``daily: "02:00-04:00"`` UTC, ``every_days: N``), or a mix (all
given must hold); none: the whole run. Which records a fault hits and what it draws are pure
functions of the run's seed, the entry's place in the block, and each record's stream, seq
and time: the same faults whatever the command, batch size, device subset or shard.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import numpy as np
from numba import njit
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

from synthkit.fault_windows import FaultWindow, Hit
from synthkit.rand import stable_key, uniforms, unit_nb, word_nb, words

if TYPE_CHECKING:
    from synthkit.batch import Batch

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


class Fault(ABC):
    """One entry of a faults block, built by its type's ``factory(params)``. ``effect`` says
    what it does to the records it labels: ``changed`` (values), ``dropped`` (never sent:
    reconcile counts it as meant), ``repeated`` (sent more than once, on purpose) or
    ``delayed`` (held back and sent later: see :meth:`release`)."""

    effect: ClassVar[str] = "changed"

    def release(self, until_s: float) -> tuple[Batch, np.ndarray] | None:
        """Records this fault held back (left out of what ``apply`` returned) that are due
        by ``until_s`` (epoch seconds; ``inf`` at the run's end), with their due instants;
        None when it holds nothing. The run delivers each after the records emitted by then
        (the same order whatever the batch size); the faults after it never see it."""
        return None

    def check(self, columns: tuple[str, ...]) -> str:
        """Before the first batch: what is wrong with ``columns`` for this fault ("": fine)."""
        return ""

    @abstractmethod
    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        """``batch`` with the fault applied where ``hit``; and which rows of the given batch
        it faulted (bool per row: their ground-truth labels). Change values in place of a
        copy, drop rows, repeat them or reorder them; never touch a row it does not label."""


class Held:
    """What a delaying fault holds back: records and the instant each is due."""

    def __init__(self) -> None:
        self.parts: list[tuple[Batch, np.ndarray]] = []

    def hold(self, batch: Batch, due_s: np.ndarray) -> None:
        if batch.n:
            self.parts.append((batch, due_s))

    def release(self, until_s: float) -> tuple[Batch, np.ndarray] | None:
        """The records due by ``until_s``, by due instant (ties: in the order held)."""
        if not self.parts:
            return None
        from synthkit.batch import Batch

        rows = Batch.concat([b for b, _ in self.parts])
        due = np.concatenate([d for _, d in self.parts])
        ready = due <= until_s
        if not ready.any():
            return None
        keep = np.flatnonzero(~ready)
        self.parts = [(rows.take(keep), due[keep])] if len(keep) else []
        go = np.flatnonzero(ready)
        order = go[np.argsort(due[go], kind="stable")]
        return rows.take(order), due[order]


# ------------------------------------------------------------------ the block's schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DeviceSelector(_Strict):
    """Which devices: ``ids``, a ``group``, an ``archetype`` (their union; none: the whole
    fleet), then a ``share`` of those chosen by the seed."""

    ids: tuple[str, ...] = ()
    group: tuple[str, ...] = ()
    archetype: tuple[str, ...] = ()
    share: float | None = Field(None, gt=0, le=1)

    _many = field_validator("ids", "group", "archetype", mode="before")(
        lambda v: (v,) if isinstance(v, str) else v
    )


def _selector_kind(value: Any) -> str:
    return "map" if isinstance(value, dict) else "list" if isinstance(value, list) else "all"


SELECTOR_TAGS = ("map", "list", "all")  # the union's tags, which the YAML does not have
Selector = Annotated[
    Annotated[DeviceSelector, Tag("map")]
    | Annotated[list[str], Tag("list")]
    | Annotated[str, Tag("all")],
    Discriminator(_selector_kind),
]


class FaultEntry(BaseModel):
    """One entry: its type, name, devices and window; every other key is a parameter of
    the type (validated by the type's own model)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    devices: Selector = "all"
    window: FaultWindow = Field(default_factory=FaultWindow)

    _type = field_validator("type", mode="before")(
        lambda v: v.strip().lower().replace("-", "_") if isinstance(v, str) else v
    )

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@dataclass(frozen=True)
class CompiledFault:
    """One entry, ready to apply: which streams it hits, its window, its fault."""

    index: int
    name: str
    type: str
    entry: FaultEntry
    streams: frozenset[str]
    fault: Fault
    key: int  # its draws' key: the run's seed and its place in the block
    params: BaseModel | None = None  # the type's parameters, validated

    def describe(self) -> dict[str, Any]:
        """The entry as a label and the manifest carry it."""
        return {
            "name": self.name,
            "type": self.type,
            "params": self.params.model_dump(mode="json") if self.params else self.entry.params,
            "window": self.entry.window.model_dump(mode="json", by_alias=True, exclude_none=True),
        }


@dataclass(frozen=True)
class FaultPlan:
    """A scenario's faults, compiled against its fleet; ``sha256`` of the block as written."""

    faults: tuple[CompiledFault, ...]
    block: tuple[dict[str, Any], ...]
    sha256: str
    columns: tuple[str, str, str] = ("", "", "")  # the family's stream, seq and time columns

    def __bool__(self) -> bool:
        return bool(self.faults)


def block_sha256(block: Any) -> str:
    """The hash of a faults block as the scenario wrote it (keys sorted)."""
    text = json.dumps(block, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def fault_key(seed: int, index: int, name: str) -> int:
    return stable_key("fault", seed, index, name)


def record_keys(key: int, stream_keys: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """The per-record keys a fault draws from."""
    with np.errstate(over="ignore"):
        mixed = stream_keys ^ np.uint64(key) ^ (seq.astype(np.uint64) * GOLDEN)
    return words(mixed, 0)


__all__ = [
    "CompiledFault",
    "DeviceSelector",
    "Draws",
    "Fault",
    "FaultEntry",
    "FaultPlan",
    "Held",
    "block_sha256",
]
