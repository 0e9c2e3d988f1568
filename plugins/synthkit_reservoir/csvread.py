"""Reads an export's telemetry_rows.csv back as batches (pyarrow's streaming reader), so an
import streams gigabytes with flat memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from synthkit.batch import Batch, Column
from synthkit.errors import ConfigError

INT_COLUMNS = ("seq", "local_timestamp_ms", "signal_strength_dbm", "schema_version")
FLOAT_COLUMNS = ("temperature_c", "battery_percentage", "latitude", "longitude", "speed_kmh",
                 "level_pct", "liters")  # fmt: skip


def read_batches(path: Path, rows: int) -> Iterator[Batch]:
    """Batches of at most ``rows`` rows, in file order."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    with open(path, "rb") as fh:
        header = fh.readline().decode("utf-8", "replace").strip().split(",")
    raw_names = [h for h in header if h.startswith("raw_")]
    types = {"device_id": pa.dictionary(pa.int32(), pa.string()), "received_at": pa.string()}
    types.update({name: pa.int64() for name in (*INT_COLUMNS, *raw_names)})
    types.update({name: pa.float64() for name in FLOAT_COLUMNS})
    wanted = ["device_id", "received_at", *INT_COLUMNS, *raw_names, *FLOAT_COLUMNS]
    missing = [w for w in wanted if w not in header]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}", hint="was it written by export-csv?")
    try:
        reader = pcsv.open_csv(
            path,
            # the reader parses ~20 blocks ahead: 1 MiB blocks hold ~40 MB (8 MiB: ~280 MB), same speed
            read_options=pcsv.ReadOptions(block_size=1 << 20),
            convert_options=pcsv.ConvertOptions(include_columns=wanted, column_types=types),
        )
        carry = None  # rows read but not yet yielded: every batch but the last has exactly ``rows``
        for record in reader:
            table = pa.Table.from_batches([record])
            if carry is not None:
                table = pa.concat_tables([carry, table])
            while table.num_rows >= rows:
                yield _batch(_one_record(table.slice(0, rows)), raw_names)
                table = table.slice(rows)
            carry = table
        if carry is not None and carry.num_rows:
            yield _batch(_one_record(carry), raw_names)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ConfigError(
            f"{path}: unreadable row ({' '.join(str(exc).split())[:200]})",
            hint="run analyze-csv on the artifact to find the line",
        ) from None


def _one_record(table):  # noqa: ANN001, ANN202
    """A table slice (perhaps spanning blocks, each with its own device dictionary) as one
    record batch."""
    return table.unify_dictionaries().combine_chunks().to_batches()[0]


def _batch(record, raw_names: list[str]) -> Batch:  # noqa: ANN001
    n = record.num_rows
    dev = record.column("device_id")
    cols = [
        Column("device_id", "label", dev.indices.to_numpy(zero_copy_only=False).astype(np.int64),
               labels=tuple(dev.dictionary.to_pylist())),
        Column("received_at", "fixed", _fixed(record.column("received_at"), n)),
    ]  # fmt: skip
    for name in (*INT_COLUMNS, *raw_names):
        arr = record.column(name)
        values = arr.fill_null(-1).to_numpy().astype(np.int64)
        present = None if arr.null_count == 0 else ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False))
        cols.append(Column(name, "int", values, present=present))
    for name in FLOAT_COLUMNS:
        arr = record.column(name)
        values = arr.fill_null(0.0).to_numpy().astype(float)
        present = None if arr.null_count == 0 else ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False))
        cols.append(Column(name, "decimal", values, decimals=6, present=present))
    return Batch(cols)


def _fixed(column, n: int) -> np.ndarray:  # noqa: ANN001
    """ISO timestamps as a (rows, 20) byte matrix, as the exporter writes them: a view of the
    string column's bytes when every value is 20 long (no Python string per row)."""
    if n == 0:
        return np.zeros((0, 20), np.uint8)
    if column.null_count == 0 and column.type == "string":
        offsets = np.frombuffer(column.buffers()[1], np.int32, n + 1, offset=column.offset * 4)
        if bool((np.diff(offsets) == 20).all()):
            data = np.frombuffer(column.buffers()[2], np.uint8)
            return data[offsets[0] : offsets[0] + 20 * n].reshape(n, 20)
    text = np.array(column.to_pylist(), dtype="S20")
    return text.view(np.uint8).reshape(n, 20)
