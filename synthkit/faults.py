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
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

from synthkit.fault_draws import Draws
from synthkit.fault_windows import FaultWindow, Hit
from synthkit.rand import stable_key

if TYPE_CHECKING:
    from synthkit.batch import Batch


class Fault(ABC):
    """One entry of a faults block, built by its type's ``factory(params)``. ``effect`` says
    what it does to the records it labels: ``changed`` (values), ``dropped`` (never sent:
    reconcile counts it as meant), ``repeated`` (sent more than once, on purpose) or
    ``delayed`` (held back and sent later: see :meth:`release`)."""

    effect: ClassVar[str] = "changed"  # one of EFFECTS

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
        it faulted (bool per row: their ground-truth labels, with the fault's ``effect``; or
        int8 per row, 0 for none, else 1 + the index of each row's effect in ``EFFECTS``:
        a battery that drains changes readings, then shuts the device down). Change values in place of a
        copy, drop rows, repeat them or reorder them; never touch a row it does not label."""


class ModelFault(Fault):
    """A fault a family's model acts on, where it makes the data (a loss the model carries
    into every later step; a session that changes which events a stream has), not on the
    rows afterwards: the family hands its model the rows each one
    hits (by :meth:`FaultWindow.among`, the stage's rule), and the fault stage labels those
    records. ``model`` names the device model (or family) it belongs to; a scenario that
    points it at a device of another is refused."""

    model: ClassVar[str]

    def __init__(self, params: Any) -> None:
        self.params = params

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        return batch, hit.rows.copy()  # the model changed them: they are labelled here


EFFECTS = ("changed", "dropped", "repeated", "delayed")


def effect_codes(labelled: np.ndarray, effect: str) -> np.ndarray:
    """What :meth:`Fault.apply` said it labelled, as int8 effect codes (0: not labelled)."""
    if labelled.dtype == np.bool_:
        return labelled.astype(np.int8) * np.int8(1 + EFFECTS.index(effect))
    return labelled.astype(np.int8, copy=False)


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


__all__ = [
    "CompiledFault",
    "DeviceSelector",
    "EFFECTS",
    "Fault",
    "FaultEntry",
    "FaultPlan",
    "Held",
    "block_sha256",
]
