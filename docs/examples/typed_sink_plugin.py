"""npz: a typed sink. Each column lands as a numpy array of its value type (docs: typed batches).

A small example: it keeps the run in memory until close (a real sink writes as it goes)."""

from __future__ import annotations

import io

import numpy as np

from synthkit import hookimpl
from synthkit.api import Batch, Column, FileSink, FileTarget, SinkOptions, SinkReport, SinkSpec


def typed(column: Column) -> np.ndarray:
    kind = column.value_type
    if kind == "timestamp":
        return column.timestamps()
    if kind == "text":
        return column.values.view(f"S{column.values.shape[1]}").ravel().astype(str)
    if column.kind == "label":  # enum: its labels; int, float, bool: the numbers the labels are
        return np.asarray(
            list(column.labels),
            dtype=None if kind == "enum" else {"int": np.int64, "float": float, "bool": bool}[kind],
        )[column.values]
    if column.kind == "decimal" and column.scaled:
        return column.values / 10**column.decimals
    return column.values


class NpzSink(FileSink):
    def __init__(self, target: FileTarget, options: SinkOptions) -> None:
        self.target, self.parts, self.records = target, {}, 0

    def open(self, columns: tuple[str, ...]) -> None:
        self.parts = {name: [] for name in columns}

    def write(self, batch: Batch) -> None:
        for column in batch.columns:
            self.parts[column.name].append(typed(column))
        self.records += batch.n

    def close(self) -> SinkReport:
        buffer = io.BytesIO()
        np.savez(
            buffer, **{name: np.concatenate(parts) for name, parts in self.parts.items() if parts}
        )
        file = self.target.atomic_file()  # appears whole, or not at all
        file.write(buffer.getvalue())
        file.commit()
        return SinkReport("npz", self.records, file.bytes, str(self.target.path))

    def abort(self) -> None:
        self.parts = {}


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [SinkSpec("npz", NpzSink, extensions=(".npz",))]
