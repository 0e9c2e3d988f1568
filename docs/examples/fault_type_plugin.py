"""quantized: a fault type of your own, for any family's scenario. A sensor that lost
resolution reports its readings rounded to ``step``:

    faults:
      - type: quantized
        devices: {group: north}
        column: signal_strength_dbm
        step: 5

The core validates the entry (devices, window, and these parameters, each error located in
the scenario), picks the records, and writes a label for each record ``apply`` says it
changed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pydantic import Field

from synthkit import hookimpl
from synthkit.api import Batch, Draws, Fault, FaultParams, FaultType, Hit


class QuantizedParams(FaultParams):
    column: str
    step: float = Field(gt=0)


class Quantized(Fault):
    def __init__(self, params: QuantizedParams) -> None:
        self.params = params

    def check(self, columns: tuple[str, ...]) -> str:
        return "" if self.params.column in columns else f"no column {self.params.column!r}"

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        column = batch.column(self.params.column)
        rows = hit.rows if column.present is None else hit.rows & column.present
        values = column.values.copy()
        step = self.params.step
        values[rows] = (np.round(values[rows] / step) * step).astype(values.dtype)
        changed = values != column.values  # only these are labelled
        out = [replace(c, values=values) if c is column else c for c in batch.columns]
        return Batch(out), changed


@hookimpl
def synthkit_register_fault_types() -> list[FaultType]:
    return [
        FaultType(
            "quantized",
            Quantized,
            QuantizedParams,
            group="sensor",
            description="readings rounded to a coarser step",
        )
    ]
