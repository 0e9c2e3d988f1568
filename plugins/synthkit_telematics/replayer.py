"""``synthkit replay`` for telematics runs: the record's recipe makes the run's generator
again (config, options file, event types, identifiers' salt), numbered from the record's
first seqs, and stamped as the live feed stamped it; only the missing events are kept, each
byte for byte as first sent. A driver's event k is round k of the run (one event per driver
per round), so regenerating up to the last missing round suffices."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from synthkit.api import Batch, ConfigError, Missing, Replayer, RunRecord
from synthkit_telematics.clock import on_the_wall_clock
from synthkit_telematics.generator import TelematicsGenerator, driver_labels
from synthkit_telematics.loop import config_of

DEFAULT_TOPIC = "telematics/{driver_id}/events"


class TelematicsReplayer(Replayer):
    client_column = "driver_id"
    topic = DEFAULT_TOPIC

    def __init__(self, record: RunRecord, plugins: Any) -> None:
        config, recipe = config_of(record, plugins)
        self.stamps = dict(recipe.get("stamps") or {"clock": "simulated"})
        if self.stamps.get("clock") not in ("simulated", "wall"):
            raise ConfigError(
                f"run {record.run_id} stamped its events with the wall clock as they were sent "
                "(--interval 0: no schedule), which a replay cannot make again",
                hint="for runs to replay, give --interval > 0 or --clock simulated",
            )
        self.generator = TelematicsGenerator(
            config,
            plugins.event_types(),
            id_salt=str(recipe.get("id_salt", "")),
            plugins=plugins,
            first_seq=[
                record.streams[d].first_seq if d in record.streams else 0
                for d in driver_labels(config.drivers)
            ],
        )
        weights = dict(zip(self.generator.type_names, self.generator.base_weights.tolist()))
        if weights != recipe["event_types"]:
            raise ConfigError(
                f"run {record.run_id}'s event types weighed {recipe['event_types']}; "
                f"they now weigh {weights}",
                hint="install the event-type plugins' versions the run had",
            )
        self.faults = self.generator.faults
        self.topic = record.topic or DEFAULT_TOPIC

    @property
    def columns(self) -> tuple[str, ...]:
        return self.generator.columns

    def batches(self, missing: Missing) -> Iterator[Batch]:
        wanted = {s: [(int(lo), int(hi)) for lo, hi in rs] for s, rs in missing.items() if rs}
        if not wanted:
            return
        gen = self.generator
        index = {d: i for i, d in enumerate(gen.driver_labels)}
        rounds = max(hi - int(gen.first_seq[index[s]]) for s, rs in wanted.items() for _, hi in rs)
        ranges = [(index[s], lo, hi) for s, rs in wanted.items() for lo, hi in rs]
        n = gen.config.drivers
        for batch in gen.batches((rounds + 1) * n, batch_rows=max(n, 65_536)):
            drivers = batch.column("driver_id").values
            seq = batch.column("seq").values
            keep = np.zeros(batch.n, bool)
            for d, lo, hi in ranges:
                keep |= (drivers == d) & (seq >= lo) & (seq <= hi)
            if keep.any():
                rows = np.flatnonzero(keep)
                yield self._stamped(batch.take(rows), drivers[rows], seq[rows])

    def _stamped(self, batch: Batch, drivers: np.ndarray, seq: np.ndarray) -> Batch:
        """The live feed's stamps again: a round's (``publish``) or an event's (``stream``)
        due instant on the feed's schedule."""
        if self.stamps.get("clock") != "wall":
            return batch
        started, every = int(self.stamps["started_ms"]), int(self.stamps["interval_ms"])
        rounds = seq - self.generator.first_seq[drivers]
        per_round = self.stamps.get("per") == "round"
        slot = rounds if per_round else rounds * self.generator.config.drivers + drivers
        return on_the_wall_clock(batch, started, started + slot * every)
