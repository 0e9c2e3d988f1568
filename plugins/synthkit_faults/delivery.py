"""Faults in delivery, for any family: records dropped (a seq gap on purpose), a device gone
silent for a while, records delivered twice. Each labels the records it dropped or repeated;
a dropped record's seq stays used, so reconcile can tell a deliberate gap from a lost one."""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from synthkit.api import Batch, Draws, Fault, FaultParams, Hit


def _rows(batch: Batch, index: np.ndarray) -> Batch:
    return Batch([c.take(index) for c in batch.columns])


class DropParams(FaultParams):
    share: float = Field(1.0, gt=0, le=1)  # of the hit records


class Drop(Fault):
    """Records lost on the way: a ``share`` of those hit never arrive."""

    effect = "dropped"

    def __init__(self, params: DropParams) -> None:
        self.params = params

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        gone = hit.rows & (draws.uniform(3) < self.params.share)
        return _rows(batch, np.flatnonzero(~gone)), gone


class Dropout(Fault):
    """The device is silent through the window: none of its records are sent (its seqs
    keep counting, as a device that lost its link would)."""

    effect = "dropped"

    def __init__(self, params: FaultParams) -> None:
        self.params = params

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        return _rows(batch, np.flatnonzero(~hit.rows)), hit.rows


class DuplicateParams(FaultParams):
    every: int | None = Field(None, ge=1)  # every Nth seq of a device (seq % every == 0)
    share: float | None = Field(None, gt=0, le=1)  # or a share of the hit records
    copies: int = Field(1, ge=1, le=10)  # sent this many extra times, right after

    @model_validator(mode="after")
    def _one(self) -> DuplicateParams:
        if self.every is not None and self.share is not None:
            raise ValueError("give every or share, not both")
        return self


class Duplicate(Fault):
    """Records delivered more than once (a retry that was not needed), to test dedupe."""

    effect = "repeated"

    def __init__(self, params: DuplicateParams) -> None:
        self.params = params

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        twice = hit.rows.copy()
        if self.params.every is not None and hit.seq is not None:
            twice &= hit.seq % self.params.every == 0
        elif self.params.share is not None:
            twice &= draws.uniform(4) < self.params.share
        repeats = 1 + self.params.copies * twice.astype(np.int64)
        return _rows(batch, np.repeat(np.arange(batch.n), repeats)), twice
