"""Typed batches as Arrow tables: each column's declared value type decides its Arrow type
(docs/plugins.md, typed batches), so nothing is guessed from the values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from synthkit.api import Batch, Column

_BY_VALUE = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "text": pa.string()}


def arrow_type(column: Column) -> pa.DataType:
    kind = column.value_type
    if kind == "enum":
        return pa.dictionary(pa.int32(), pa.string())
    if kind == "timestamp":
        return pa.timestamp("ms" if column.values.shape[1] > 20 else "s", tz="UTC")
    return _BY_VALUE[kind]


def schema_of(batch: Batch) -> pa.Schema:
    return pa.schema(
        [pa.field(c.name, arrow_type(c)) for c in batch.columns]
    )  # nullable: `present` may vary


def arrow_array(column: Column, type_: pa.DataType) -> pa.Array:
    """One column as an Arrow array of ``type_``, nulls where it is not ``present``."""
    mask = None if column.present is None else ~column.present
    kind = column.value_type
    if kind == "enum":
        codes = pa.array(column.values.astype(np.int32, copy=False), pa.int32(), mask=mask)
        return pa.DictionaryArray.from_arrays(
            codes, pa.array([str(x) for x in column.labels], pa.string())
        )
    if kind == "timestamp":
        return pa.array(column.timestamps(), type_, mask=mask)
    if kind == "text":
        return _text(column.values, mask)
    values: Any = column.values
    if column.kind == "label":
        values = np.asarray(list(column.labels), dtype=_NUMPY[kind])[values]
    elif column.kind == "decimal":
        values = (
            values / 10.0**column.decimals if column.scaled else np.round(values, column.decimals)
        )
    return pa.array(values, type_, mask=mask)


_NUMPY = {"int": np.int64, "float": np.float64, "bool": np.bool_}


def _text(matrix: np.ndarray, mask: np.ndarray | None) -> pa.Array:
    """A fixed-width ASCII matrix as a string array, without a Python object per row."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = pa.py_buffer(np.ascontiguousarray(matrix))
    validity = None if mask is None else pa.array(~mask).buffers()[1]
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), data, validity)


def to_table(batch: Batch, schema: pa.Schema) -> pa.Table:
    if batch.names != tuple(schema.names):
        raise ValueError(
            f"batch columns {batch.names} differ from the first batch's {tuple(schema.names)}"
        )
    arrays = [arrow_array(c, f.type) for c, f in zip(batch.columns, schema)]
    return pa.Table.from_arrays(arrays, schema=schema)
