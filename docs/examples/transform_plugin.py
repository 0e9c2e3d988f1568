"""gps_noise: a seeded transform that moves each position by up to ``meters``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pydantic import Field

from synthkit import hookimpl
from synthkit.api import Batch, SinkOptions, Transform, TransformSpec


class NoiseOptions(SinkOptions):
    meters: float = Field(15.0, ge=0, le=1000)  # --transform-option gps_noise.meters=30


class GpsNoise(Transform):
    def __init__(self, options: NoiseOptions, seed: int) -> None:
        self.rng = np.random.default_rng(seed)  # from the run's seed: same inputs, same bytes
        self.step = options.meters / 111_320 * 1e6  # degrees, in the columns' micro-degree units

    def apply(self, batch: Batch) -> Batch:
        out = []
        for c in batch.columns:
            if c.name in ("latitude", "longitude") and c.scaled:
                moved = c.values + np.rint(self.rng.uniform(-self.step, self.step, batch.n)).astype(np.int64)
                c = replace(c, values=moved)  # the same column, other values
            out.append(c)
        return Batch(out)


@hookimpl
def synthkit_register_transforms() -> list[TransformSpec]:
    return [TransformSpec("gps_noise", GpsNoise, options=NoiseOptions)]
