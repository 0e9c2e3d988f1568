"""A shard of a telematics fleet (``--shard K/N``): the events of some of its drivers,
exactly as the whole fleet's run makes them. A driver's events depend only on the driver
(its own random stream and trip state), so a generator given ``fleet=`` (those drivers'
numbers) drives them alone, and the shards' union is the run's events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from synthkit.api import Batch


def shard_batches(gen: Any, events: int | None, batch_rows: int) -> Iterator[Batch]:
    """A shard's events of the whole fleet's run of ``events``: whole rounds of its
    drivers, and in the last round only those the run's last round reaches (the first
    ``events % drivers`` drivers), so the shards' union is the run's events."""
    assert gen.fleet is not None
    n, m = gen.config.drivers, len(gen.fleet)
    rounds = None if events is None else -(-events // n)
    reach = n if events is None or events % n == 0 else events % n
    k = max(1, batch_rows // max(1, m))
    while m and (rounds is None or gen.rounds < rounds):
        take = k if rounds is None else min(k, rounds - gen.rounds)
        batch = gen._round(take, 0, m, gen.rounds)
        last = rounds is not None and gen.rounds + take == rounds
        gen.rounds += take
        if last and reach < n:  # the run's last round stops short of the later drivers
            drivers = batch.column("driver_id").values
            final = np.arange(batch.n) >= (take - 1) * m
            batch = batch.take(np.flatnonzero(~final | (drivers < reach)))
        gen._count(batch)
        yield batch
