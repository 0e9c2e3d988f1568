"""The family's closed loop: what a live run records (its recipe: the scenario file and hash,
the window's origin and each meter's first seq) and how any of its readings are made again,
byte for byte, for ``synthkit replay``. A reading is a pure function of (scenario, meter,
interval), so replay re-runs the meters over the intervals asked for and keeps those rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from synthkit.api import (
    Batch,
    ConfigError,
    Plugins,
    Replayer,
    RunRecord,
    new_run_id,
)
from synthkit_energy_meter.family import DEFAULT_TOPIC, NAME
from synthkit_energy_meter.fleet import MeterRun
from synthkit_energy_meter.scenario import LoadedMeters, load_meters


def run_record(
    loaded: LoadedMeters, origin_s: int, *, sink: str, target: str, topic: str
) -> RunRecord:
    """A live run's record (its streams are filled in by the core's ``RunRecorder``)."""
    from datetime import UTC, datetime

    return RunRecord(
        run_id=new_run_id("meter run"),
        command="meter run",
        family=NAME,
        streams={},
        seed=loaded.seed,
        scenario_id=loaded.scenario_id,
        scenario_sha256=loaded.sha256,
        window_start=datetime.fromtimestamp(origin_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        live=True,
        sink=sink,
        target=target,
        topic=topic,
        recipe={"scenario": loaded.path, "scenario_sha256": loaded.sha256, "origin_s": origin_s},
    )


class MeterReplayer(Replayer):
    client_column = "meter_id"
    topic = DEFAULT_TOPIC

    def __init__(self, record: RunRecord, plugins: Plugins) -> None:
        recipe = record.recipe
        path, origin_s = recipe.get("scenario"), recipe.get("origin_s")
        if not isinstance(path, str) or type(origin_s) is not int:
            raise ConfigError(
                f"run {record.run_id}: its record does not say how to make its readings again",
                hint="it was edited, or written by another version: restore it",
            )
        if not Path(path).is_file():
            raise ConfigError(
                f"run {record.run_id} was generated from {path}, which is gone",
                hint="restore the scenario file the run used: readings derive from it",
            )
        loaded = load_meters(path, plugins)
        if loaded.sha256 != recipe.get("scenario_sha256"):
            raise ConfigError(
                f"{path} changed since run {record.run_id}: a replay would not be byte-identical",
                hint="restore the scenario as it was when the run ran",
            )
        self.first = {m: r.first_seq for m, r in record.streams.items()}
        first = [self.first.get(m.device_id, 0) for m in loaded.meters]
        self.meters = MeterRun(loaded, first, origin_s)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.meters.columns

    def batches(self, missing: Any) -> Iterator[Batch]:
        """The run made again from its first interval (a meter's register carries from one
        reading to the next) up to the last missing one, keeping only the missing rows."""
        wanted = {m: list(ranges) for m, ranges in missing.items() if ranges}
        if not wanted:
            return
        last = max(hi - self.first[m] for m, ranges in wanted.items() for _, hi in ranges)
        for batch in self.meters.batches(0, last + 1):
            meter, seq = batch.column("meter_id"), batch.column("seq").values
            names = np.asarray(meter.labels, dtype=object)[meter.values]
            keep = np.zeros(batch.n, bool)
            for m, ranges in wanted.items():
                mine = names == m
                for lo, hi in ranges:
                    keep |= mine & (seq >= lo) & (seq <= hi)
            if keep.any():
                rows = np.flatnonzero(keep)
                yield Batch([c.take(rows) for c in batch.columns])
