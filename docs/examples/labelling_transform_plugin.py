"""spikes: a seeded transform that multiplies one column by ``factor`` in a share of the
rows, and writes a ground-truth label for each record it changed.

Which rows spike is a pure function of the run's seed and the row (its stream and seq), so
the same run spikes the same records whatever the batch size. Labels are written in
``taken``, once the sink took the batch: a label never names a record that was not
delivered; they appear beside the output (``out.csv.labels.jsonl``) whole, or not at all."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pydantic import Field

from synthkit import hookimpl
from synthkit.api import Batch, Notes, SinkOptions, Transform, TransformSpec, rand, stable_key


class SpikeOptions(SinkOptions):
    column: str = "level_pct"  # --transform-option spikes.column=flow_lpm
    share: float = Field(0.01, ge=0, le=1)  # of the rows
    factor: float = Field(3.0, gt=0)


class Spikes(Transform):
    note_tables = ("labels",)  # declared: the run refuses a sink with no place for them

    def __init__(self, options: SpikeOptions, seed: int) -> None:
        self.options, self.seed = options, np.uint64(seed)
        self.hit = np.zeros(0, bool)  # the rows of the batch last returned that spiked

    def apply(self, batch: Batch) -> Batch:
        stream = batch.column("device_id")
        keys = np.array([stable_key(label) for label in stream.labels], np.uint64)[stream.values]
        keys ^= batch.column("seq").values.astype(np.uint64) ^ self.seed
        column = batch.column(self.options.column)
        # a spike on a zero reading changes nothing: it is neither made nor labelled
        self.hit = (rand.uniforms(keys, 0) < self.options.share) & (column.values != 0)
        out = []
        for c in batch.columns:
            if c is column:
                values = c.values.copy()
                values[self.hit] = np.rint(values[self.hit] * self.options.factor)
                c = replace(c, values=values.astype(c.values.dtype))
            out.append(c)
        return Batch(out)

    def taken(self, batch: Batch, notes: Notes) -> None:
        rows = np.flatnonzero(self.hit)
        stream, seq = batch.column("device_id"), batch.column("seq").values
        notes.add(
            "labels",
            (
                {
                    "device_id": stream.labels[stream.values[i]],
                    "seq": int(seq[i]),
                    "fault": "spike",
                    "column": self.options.column,
                    "factor": self.options.factor,
                }
                for i in rows
            ),
        )
        notes.count("spiked", len(rows))


@hookimpl
def synthkit_register_transforms() -> list[TransformSpec]:
    return [TransformSpec("spikes", Spikes, options=SpikeOptions)]
