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
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from synthkit.rand import stable_key, uniforms, words

if TYPE_CHECKING:
    from synthkit.batch import Batch

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class FaultParams(BaseModel):
    """The base of a fault type's parameter model: unknown keys refused, no NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class Hit:
    """The rows of a batch a fault hits (its devices, inside its window), how long its window
    had been open at each (seconds; what drift or a drain grows with), and each row's seq."""

    rows: np.ndarray  # bool per row
    since_s: np.ndarray  # float64 per row (meaningful where ``rows``)
    seq: np.ndarray | None = None  # int64 per row (the family's seq column)


class Draws:
    """Random numbers per record of one fault: a pure function of the run's seed, the
    fault's place in the block, the record's stream and its seq (never the batch)."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys

    def uniform(self, k: int = 0) -> np.ndarray:
        """One uniform in [0, 1) per row (``k``: which draw)."""
        return uniforms(self.keys, k)

    def normal(self, k: int = 0) -> np.ndarray:
        """One standard normal per row (Box-Muller over draws ``2k`` and ``2k + 1``)."""
        u1 = 1.0 - uniforms(self.keys, 2 * k)  # (0, 1]: log is finite
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * uniforms(self.keys, 2 * k + 1))


class Fault(ABC):
    """One entry of a faults block, built by its type's ``factory(params)``. ``effect`` says
    what it does to the records it labels: ``changed`` (values), ``dropped`` (never sent:
    reconcile counts it as meant) or ``repeated`` (sent more than once, on purpose)."""

    effect: ClassVar[str] = "changed"

    def check(self, columns: tuple[str, ...]) -> str:
        """Before the first batch: what is wrong with ``columns`` for this fault ("": fine)."""
        return ""

    @abstractmethod
    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        """``batch`` with the fault applied where ``hit``; and which rows of the given batch
        it faulted (bool per row: their ground-truth labels). Change values in place of a
        copy, drop rows, repeat them or reorder them; never touch a row it does not label."""


# ------------------------------------------------------------------ the block's schema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, None: 1}
_DAILY = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def duration_s(value: Any) -> float:
    """``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"3d"`` as seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a duration (write 90s, 15m, 2h or 3d)")
    return float(match[1]) * _UNIT_S[match[2]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FaultWindow(_Strict):
    start: datetime | None = None  # absolute, UTC unless it says otherwise
    end: datetime | None = None
    after: float | None = Field(None, ge=0)  # seconds after the run's start
    for_: float | None = Field(None, gt=0, alias="for")
    daily: str | None = None  # "HH:MM-HH:MM" UTC; may wrap midnight
    every_days: int | None = Field(None, ge=1)

    _durations = field_validator("after", "for_", mode="before")(
        lambda v: None if v is None else duration_s(v)
    )

    @field_validator("daily")
    @classmethod
    def _daily(cls, value: str | None) -> str | None:
        if value is not None:
            m = _DAILY.match(value)
            if m is None or int(m[1]) > 24 or int(m[3]) > 24 or int(m[2]) > 59 or int(m[4]) > 59:
                raise ValueError(f"{value!r} is not a daily window (write HH:MM-HH:MM, UTC)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> FaultWindow:
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def bounds(self, run_start_s: float) -> tuple[float, float]:
        """The absolute span it may hit in (epoch seconds), given when the run starts."""
        lo = max(_epoch(self.start, -np.inf), run_start_s + (self.after or 0.0))
        hi = _epoch(self.end, np.inf)
        if self.for_ is not None:
            hi = min(hi, run_start_s + (self.after or 0.0) + self.for_)
        return lo, hi

    def hit(self, t_s: np.ndarray, run_start_s: float) -> Hit:
        """Which of the instants ``t_s`` (epoch seconds) are inside, and since when."""
        lo, hi = self.bounds(run_start_s)
        t = t_s.astype(np.float64)
        rows = (t >= lo) & (t < hi)
        since = t - (lo if np.isfinite(lo) else run_start_s)
        if self.every_days is not None:
            rows &= (np.floor(t / 86_400) % self.every_days) == 0
        if self.daily is not None:
            m = _DAILY.match(self.daily)
            assert m is not None  # validated
            open_s, close_s = int(m[1]) * 3600 + int(m[2]) * 60, int(m[3]) * 3600 + int(m[4]) * 60
            clock = np.mod(t, 86_400)
            inside = (
                (clock >= open_s) & (clock < close_s)
                if open_s < close_s
                else (clock >= open_s) | (clock < close_s)
            )
            rows &= inside
            since = np.mod(clock - open_s, 86_400)  # since today's window opened
        return Hit(rows, since)  # the stage adds the seqs


def _epoch(when: datetime | None, default: float) -> float:
    if when is None:
        return default
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


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
    "FaultParams",
    "FaultPlan",
    "FaultWindow",
    "Hit",
    "block_sha256",
    "duration_s",
]
