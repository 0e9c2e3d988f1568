"""Reads an export's telemetry_rows.csv back as batches (pyarrow's streaming reader), so an
import streams gigabytes with flat memory. The batches have the reservoir row layout the
export wrote (every column, in the file's order, typed as bootstrap types them), so a sink
gets the same rows from import-csv as from bootstrap."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from synthkit.api import Batch, Column, ConfigError
from synthkit_reservoir.layout import DECIMALS

INT_COLUMNS = ("seq", "local_timestamp_ms", "signal_strength_dbm", "schema_version")
REQUIRED = (
    "device_id",
    "received_at",
    *INT_COLUMNS,
    "temperature_c",
    "battery_percentage",
    "level_pct",
    "liters",
)


def _layout(path: Path) -> tuple[list[str], dict[str, object], list[str]]:
    """(the columns, in the file's order, their Arrow types, the raw_N columns) from the
    header line: numbers as the layout writes them, every other column text (labels)."""
    import pyarrow as pa

    with open(path, "rb") as fh:
        # utf-8-sig: a byte-order mark (a spreadsheet's save) is not part of the first name
        header = fh.readline().decode("utf-8-sig", "replace").strip().split(",")
    raw_names = [h for h in header if h.startswith("raw_")]
    missing = [w for w in REQUIRED if w not in header] + ([] if raw_names else ["raw_1"])
    if missing:
        raise ConfigError(
            f"{path}: missing column(s) {', '.join(missing)}", hint="was it written by export-csv?"
        )
    ints = {*INT_COLUMNS, *raw_names}
    types: dict[str, object] = {
        name: pa.int64()
        if name in ints
        else pa.float64()
        if name in DECIMALS
        else pa.string()
        if name == "received_at"
        else pa.dictionary(pa.int32(), pa.string())
        for name in header
    }
    return header, types, raw_names


def _numeric(types: dict[str, object]) -> list[str]:
    import pyarrow as pa

    return [name for name, t in types.items() if t in (pa.int64(), pa.float64())]


def _open(source, wanted: list[str], types: dict[str, object]):
    import pyarrow.csv as pcsv

    return pcsv.open_csv(
        source,
        # the reader parses ~20 blocks ahead: 1 MiB blocks hold ~40 MB (8 MiB: ~280 MB), same speed
        read_options=pcsv.ReadOptions(block_size=1 << 20),
        # an empty cell is a value that does not apply (point_id of a stationary row): a null
        convert_options=pcsv.ConvertOptions(
            include_columns=wanted, column_types=types, strings_can_be_null=True
        ),
    )


def check_csv(path: Path) -> str:
    """Parse and check every row of ``path`` (nothing kept) and return the file's sha256: one
    pass that both verifies the manifest and finds a bad row before anything is written. A
    row that does not parse, or whose values break the payload's rules (the ones a live
    message is held to), is a :class:`BadRow`; the caller checks the digest first, then
    names the line (:meth:`BadRow.error`)."""
    import pyarrow as pa

    from synthkit.api import sha256_file

    _, types, _ = _layout(path)
    wanted = [*_numeric(types), "device_id", "received_at"]  # the rest is labels: always text
    # The digest runs beside the parse on a thread of its own (both release the GIL), and the
    # parser reads the file natively: fed through a Python file object, its read-ahead thread
    # could still be reading it when the process exited after a bad row (SIGABRT, 1 in ~100).
    with ThreadPoolExecutor(1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(sha256_file, path)
        offset, bad, reader = 0, None, None
        try:
            reader = _open(path, wanted, {k: types[k] for k in wanted})  # parses the first block
            for record in reader:
                found = first_problem(record)
                if found is not None:
                    bad = BadRow("", found[1], row=offset + found[0])
                    break
                offset += record.num_rows
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            bad = BadRow("", " ".join(str(exc).split())[:200])
        finally:
            if reader is not None:
                reader.close()
        sha256 = digest.result()
    if bad is not None:  # the caller compares the digest first: a tampered file says so first
        bad.sha256 = sha256
        raise bad
    return sha256


# cells every row must have: what the payload carries and what the ingestion keys on
REQUIRED_CELLS = (
    "device_id",
    "seq",
    "received_at",
    "local_timestamp_ms",
    "schema_version",
    "temperature_c",
    "battery_percentage",
    "signal_strength_dbm",
)


def first_problem(record) -> tuple[int, str] | None:
    """(row, what is wrong) of the first row of an Arrow record batch that breaks the
    payload's rules (:data:`~synthkit_reservoir.payload.LIMITS`, the cells a row needs, a
    time that exists, at least one reading, a location whole or absent), or None."""
    import pyarrow.compute as pc

    from synthkit.api import iso_epoch
    from synthkit_reservoir.layout import MAX_CLIENT_ID
    from synthkit_reservoir.payload import LIMITS, limit_text, out_of_range

    n = record.num_rows
    first: tuple[int, str] | None = None

    def note(bad: np.ndarray, name: str, why: str) -> None:
        nonlocal first
        hits = np.flatnonzero(bad)
        if hits.size and (first is None or hits[0] < first[0]):
            row = int(hits[0])
            value = record.column(name)[row].as_py()
            shown = "empty" if value is None or value == "" else f"{str(value)[:40]!r} {why}"
            first = (row, f"column {name}: {shown}")

    names = record.schema.names
    empty = {
        name: np.asarray(record.column(name).is_null().to_numpy(zero_copy_only=False))
        for name in names
    }
    for name in REQUIRED_CELLS:
        note(empty[name], name, "")
    raw_names = [name for name in names if name.startswith("raw_")]
    for name in names:
        rule = "raw_readings" if name in raw_names else name
        if rule in LIMITS:
            values = record.column(name).fill_null(0).to_numpy(zero_copy_only=False)
            note(~empty[name] & out_of_range(rule, values), name, f"is not {limit_text(rule)}")
    ids = record.column("device_id")
    long_ids = np.asarray(
        pc.greater(pc.utf8_length(ids.dictionary), MAX_CLIENT_ID).to_numpy(zero_copy_only=False)
    )
    if long_ids.any():
        note(
            ~empty["device_id"] & long_ids[ids.indices.fill_null(0).to_numpy()],
            "device_id",
            f"is longer than {MAX_CLIENT_ID} characters",
        )
    _, valid = iso_epoch(_fixed(record.column("received_at"), n))
    note(
        ~empty["received_at"] & ~valid,
        "received_at",
        "is not a time that exists (YYYY-MM-DDTHH:MM:SSZ, UTC)",
    )
    if raw_names:
        note(np.logical_and.reduce([empty[r] for r in raw_names]), raw_names[0], "")
    if "latitude" in names and "longitude" in names:
        note(
            empty["latitude"] != empty["longitude"],
            "latitude" if empty["latitude"].any() else "longitude",
            "(a location has both a latitude and a longitude, or neither)",
        )
    return first


class BadRow(Exception):
    """A row that does not parse, or (``row`` given) breaks a rule; ``sha256`` is the whole
    file's digest."""

    def __init__(self, sha256: str, problem: str, *, row: int | None = None) -> None:
        super().__init__(problem)
        self.sha256, self.problem, self.row = sha256, problem, row

    def error(self, path: Path) -> ConfigError:
        if self.row is None:
            return bad_line(path, self.problem)
        return _row_error(path, _line_of(path, self.row), self.problem)


def _line_of(path: Path, row: int) -> int:
    """The line on which data row ``row`` (0-based) starts (a quoted cell may span lines)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        next(reader)
        line = reader.line_num + 1
        for i, _ in enumerate(reader):
            if i == row:
                return line
            line = reader.line_num + 1
    return line


def bad_line(path: Path, problem: str) -> ConfigError:
    """The first line whose values do not fit their columns, as a ConfigError (slow: runs
    only after the fast parser refused the file)."""
    _, types, raw_names = _layout(path)
    wanted = _numeric(types)
    ints = {*INT_COLUMNS, *raw_names}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        index = {name: i for i, name in enumerate(header)}
        for row in reader:
            line = reader.line_num
            if len(row) != len(header):
                return _row_error(path, line, f"{len(row)} fields, the header has {len(header)}")
            for name in wanted:
                value = row[index[name]]
                if value == "":
                    continue
                try:
                    int(value) if name in ints else float(value)
                except ValueError:
                    return _row_error(
                        path,
                        line,
                        f"column {name}: {value[:40]!r} is not a {'whole ' if name in ints else ''}number",
                    )
    return ConfigError(f"{path}: unreadable row ({problem})", hint="fix or regenerate the file")


def _row_error(path: Path, line: int, what: str) -> ConfigError:
    return ConfigError(
        f"{path}:{line}: {what}; nothing was written",
        hint="fix that line (and re-sign the manifest) or regenerate the export",
    )


def columns_of(path: Path) -> tuple[str, ...]:
    """The file's columns, as :func:`read_batches` hands them on."""
    return tuple(_layout(path)[0])


def read_batches(path: Path, rows: int) -> Iterator[Batch]:
    """Batches of at most ``rows`` rows, in file order."""
    import pyarrow as pa

    wanted, types, raw_names = _layout(path)
    try:
        reader = _open(path, wanted, types)
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


def _one_record(table):
    """A table slice (perhaps spanning blocks, each with its own device dictionary) as one
    record batch."""
    return table.unify_dictionaries().combine_chunks().to_batches()[0]


def _batch(record, raw_names: list[str]) -> Batch:
    """One record batch in the reservoir row layout, column for column as bootstrap builds it."""
    import pyarrow as pa

    n = record.num_rows
    cols = []
    for name, arr in zip(record.schema.names, record.columns):
        present = (
            None
            if arr.null_count == 0
            else ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False))
        )
        if name == "received_at":
            cols.append(Column(name, "fixed", _fixed(arr, n), type="timestamp"))
        elif arr.type == pa.int64():
            cols.append(
                Column(name, "int", arr.fill_null(-1).to_numpy().astype(np.int64), present=present)
            )
        elif arr.type == pa.float64():
            cols.append(
                Column(
                    name,
                    "decimal",
                    arr.fill_null(0.0).to_numpy().astype(float),
                    decimals=DECIMALS[name],
                    present=present,
                )
            )
        else:
            labels = tuple(arr.dictionary.to_pylist()) or ("",)
            codes = arr.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
            cols.append(Column(name, "label", codes, labels=labels, present=present))
    return Batch(cols)


def _fixed(column, n: int) -> np.ndarray:
    """ISO timestamps as a (rows, 20) byte matrix, as the exporter writes them: a view of the
    string column's bytes when every value is 20 long (no Python string per row)."""
    if n == 0:
        return np.zeros((0, 20), np.uint8)
    if column.null_count == 0 and column.type == "string":
        offsets = np.frombuffer(column.buffers()[1], np.int32, n + 1, offset=column.offset * 4)
        if bool((np.diff(offsets) == 20).all()):
            data = np.frombuffer(column.buffers()[2], np.uint8)
            return data[offsets[0] : offsets[0] + 20 * n].reshape(n, 20)
    # a value that is not 20 bytes (or empty) becomes zeros, which no time parser accepts
    values = [v.encode() if v is not None else b"" for v in column.to_pylist()]
    text = np.array([v if len(v) == 20 else b"" for v in values], dtype="S20")
    return text.view(np.uint8).reshape(n, 20)
