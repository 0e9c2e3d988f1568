"""Faults in delivery, for any family: records dropped (a seq gap on purpose), a device gone
silent for a while, records delivered twice, late, out of order, or in a burst after an
outage. Each labels the records it dropped, repeated or delayed; a dropped record's seq stays
used, so reconcile can tell a deliberate gap from a lost one."""

from __future__ import annotations

import numpy as np

from synthkit.api import Batch, Draws, Fault, FaultParams, Held, Hit
from synthkit_faults.params import DropParams, DuplicateParams, LateParams, OutOfOrderParams


def _without(batch: Batch, rows: np.ndarray) -> Batch:
    """``batch`` less ``rows`` (bool per row): a lazy take, none when nothing goes."""
    return batch.take(np.flatnonzero(~rows)) if rows.any() else batch


class Drop(Fault):
    """Records lost on the way: a ``share`` of those hit never arrive."""

    effect = "dropped"

    def __init__(self, params: DropParams) -> None:
        self.params = params

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        gone = hit.rows & (draws.uniform(3) < self.params.share)
        return _without(batch, gone), gone


class Dropout(Fault):
    """The device is silent through the window: none of its records are sent (its seqs
    keep counting, as a device that lost its link would)."""

    effect = "dropped"

    def __init__(self, params: FaultParams) -> None:
        self.params = params

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        return _without(batch, hit.rows), hit.rows


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
        if not twice.any():
            return batch, twice
        repeats = 1 + self.params.copies * twice.astype(np.int64)
        return batch.take(np.repeat(np.arange(batch.n), repeats)), twice


class _Delaying(Fault):
    """Holds a ``share`` of the hit records back, each for :meth:`delays`, then delivers it."""

    effect = "delayed"
    params: LateParams | OutOfOrderParams

    def __init__(self, params: LateParams | OutOfOrderParams) -> None:
        self.params, self.held = params, Held()

    def delays(self, hit: Hit, draws: Draws) -> np.ndarray:
        raise NotImplementedError

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        late = hit.rows & (draws.uniform(7) < self.params.share)
        held = np.flatnonzero(late)
        assert hit.time_s is not None  # the stage gives every fault the records' times
        self.held.hold(batch.take(held), (hit.time_s + self.delays(hit, draws))[held])
        return _without(batch, late), late

    def release(self, until_s: float) -> tuple[Batch, np.ndarray] | None:
        return self.held.release(until_s)


class Late(_Delaying):
    """Records held back ``delay`` and then delivered (a gateway that buffers)."""

    def delays(self, hit: Hit, draws: Draws) -> np.ndarray:
        assert isinstance(self.params, LateParams)
        return np.full(len(hit.rows), self.params.delay)


class OutOfOrder(_Delaying):
    """A share of records overtaken by later ones: each held a random while between
    ``within``/2 and ``within``."""

    def delays(self, hit: Hit, draws: Draws) -> np.ndarray:
        assert isinstance(self.params, OutOfOrderParams)
        return self.params.within * (0.5 + 0.5 * draws.uniform(8))


class Burst(Fault):
    """An outage's backlog: what a device emits in the window is held, and sent all at once
    when the window closes (at the run's end if it never does)."""

    effect = "delayed"

    def __init__(self, params: FaultParams) -> None:
        self.params, self.held = params, Held()

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        assert hit.time_s is not None and hit.left_s is not None
        held = np.flatnonzero(hit.rows)
        self.held.hold(batch.take(held), (hit.time_s + hit.left_s)[held])
        return _without(batch, hit.rows), hit.rows

    def release(self, until_s: float) -> tuple[Batch, np.ndarray] | None:
        return self.held.release(until_s)
