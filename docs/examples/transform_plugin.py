"""gps_noise: a seeded transform that moves each position by up to ``meters``.

Each row's noise is a pure function of the run's seed and the row itself (its event id, or
its stream and seq), never of where the row falls in a batch: a replay of any rows then
re-creates the same bytes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pydantic import Field

from synthkit import hookimpl
from synthkit.api import Batch, SinkOptions, Transform, TransformSpec, rand, stable_key


class NoiseOptions(SinkOptions):
    meters: float = Field(15.0, ge=0, le=1000)  # --transform-option gps_noise.meters=30


class GpsNoise(Transform):
    def __init__(self, options: NoiseOptions, seed: int) -> None:
        self.seed = np.uint64(seed)  # from the run's seed: same inputs, same bytes
        self.step = options.meters / 111_320 * 1e6  # degrees, in the columns' micro-degree units

    def row_keys(self, batch: Batch) -> np.ndarray:
        """A stable 64-bit key per row: its event id's first 16 hex digits, else (stream, seq)."""
        if "event_id" in batch.names:
            return np.array(
                [int(bytes(r[:16]), 16) for r in batch.column("event_id").values], np.uint64
            )
        stream = batch.column("device_id")
        per_label = np.array([stable_key(label) for label in stream.labels], np.uint64)
        return per_label[stream.values] ^ batch.column("seq").values.astype(np.uint64)

    def apply(self, batch: Batch) -> Batch:
        keys = self.row_keys(batch) ^ self.seed
        out = []
        for counter, c in enumerate(batch.columns):
            if c.name in ("latitude", "longitude") and c.scaled:
                move = (rand.uniforms(keys, counter) * 2 - 1) * self.step
                c = replace(
                    c, values=c.values + np.rint(move).astype(np.int64)
                )  # the same column, other values
            out.append(c)
        return Batch(out)


@hookimpl
def synthkit_register_transforms() -> list[TransformSpec]:
    return [TransformSpec("gps_noise", GpsNoise, options=NoiseOptions)]
