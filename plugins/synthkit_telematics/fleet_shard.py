"""A shard of a telematics fleet (``--shard K/N``): the events of some of its drivers,
exactly as the whole fleet's run makes them. A driver's events depend only on the driver
(its own random stream and trip state), so a generator given ``fleet=`` (those drivers'
numbers) drives them alone, and the shards' union is the run's events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from synthkit.api import Batch, Shard
from synthkit_telematics.generator import driver_labels


def driver_events(events: int, drivers: int) -> np.ndarray:
    """Each driver's events of a run of ``events``: rows go round-robin, one per driver per
    round, so the first ``events % drivers`` drivers have one more."""
    per, rest = divmod(events, drivers)
    return per + (np.arange(drivers) < rest)


def fleet_of(drivers: int, shard: Shard | None) -> tuple[list[str], list[int] | None]:
    """(every driver's id, the drivers of ``shard``: None for the whole fleet)."""
    labels = driver_labels(drivers)
    return labels, shard.of(labels) if shard is not None else None


def shard_batches(gen: Any, events: int | None, batch_rows: int) -> Iterator[Batch]:
    """A shard's events of the whole fleet's run of ``events``: whole rounds of its drivers,
    each driver stopping at its own share (:func:`driver_events`), so the shards' union is
    the run's events."""
    assert gen.fleet is not None
    n, m = gen.config.drivers, len(gen.fleet)
    share = None if events is None else driver_events(events, n)
    rounds = None if share is None else int(share.max())
    k = max(1, batch_rows // max(1, m))
    while m and (rounds is None or gen.rounds < rounds):
        take = k if rounds is None else min(k, rounds - gen.rounds)
        batch = gen._round(take, 0, m, gen.rounds)
        if share is not None:  # a driver whose share ends in the run's last round stops there
            drivers = batch.column("driver_id").values
            keep = gen.rounds + np.arange(batch.n) // m < share[drivers]
            batch = batch if keep.all() else batch.take(np.flatnonzero(keep))
        gen.rounds += take
        gen._count(batch)
        yield batch
