"""Reads an export's telemetry_rows.csv back as batches (pyarrow's streaming reader), so an
import streams gigabytes with flat memory. The batches have the reservoir row layout the
export wrote (every column, in the file's order, typed as bootstrap types them), so a sink
gets the same rows from import-csv as from bootstrap."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from synthkit.api import Batch, Column, ConfigError
from synthkit_reservoir.csvfile import INT_COLUMNS, ExportCsv, fixed_times
from synthkit_reservoir.layout import DECIMALS

REQUIRED = (
    "device_id",
    "received_at",
    *INT_COLUMNS,
    "temperature_c",
    "battery_percentage",
    "level_pct",
    "liters",
)


def _export_csv(path: Path) -> ExportCsv:
    """The file, refused when its header lacks a column the import needs."""
    found = ExportCsv(path)
    missing = found.missing(REQUIRED) + ([] if found.raw_names else ["raw_1"])
    if missing:
        raise ConfigError(
            f"{path}: missing column(s) {', '.join(missing)}", hint="was it written by export-csv?"
        )
    return found


def check_csv(path: Path) -> str:
    """Parse and check every row of ``path`` (nothing kept) and return the file's sha256: one
    pass that both verifies the manifest and finds a bad row before anything is written. A
    row that does not parse, or whose values break the payload's rules (the ones a live
    message is held to), is a :class:`BadRow`; the caller checks the digest first, then
    names the line (:meth:`BadRow.error`)."""
    import pyarrow as pa

    from synthkit.api import sha256_file

    export = _export_csv(path)
    wanted = [*export.numbers(), "device_id", "received_at"]  # the rest is labels: always text
    # The digest runs beside the parse on a thread of its own (both release the GIL), and the
    # parser reads the file natively: fed through a Python file object, its read-ahead thread
    # could still be reading it when the process exited after a bad row (SIGABRT, 1 in ~100).
    with ThreadPoolExecutor(1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(sha256_file, path)
        offset, bad, reader = 0, None, None
        try:
            reader = export.records(wanted)  # parses the first block
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
    _, valid = iso_epoch(fixed_times(record.column("received_at"), n))
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
    """The line on which data row ``row`` (0-based) starts."""
    last = 1
    for i, (line, _, _) in enumerate(ExportCsv(path).lines()):
        if i == row:
            return line
        last = line
    return last


def bad_line(path: Path, problem: str) -> ConfigError:
    """The first line whose values do not fit their columns, as a ConfigError (slow: runs
    only after the fast parser refused the file)."""
    export = _export_csv(path)
    header = export.header or []
    wanted = [(name, header.index(name), export.is_int(name)) for name in export.numbers()]
    for line, row, _ in export.lines():
        if len(row) != len(header):
            return _row_error(path, line, f"{len(row)} fields, the header has {len(header)}")
        for name, at, whole in wanted:
            value = row[at]
            if value == "":
                continue
            try:
                int(value) if whole else float(value)
            except ValueError:
                kind = "whole number" if whole else "number"
                return _row_error(path, line, f"column {name}: {value[:40]!r} is not a {kind}")
    return ConfigError(f"{path}: unreadable row ({problem})", hint="fix or regenerate the file")


def _row_error(path: Path, line: int, what: str) -> ConfigError:
    return ConfigError(
        f"{path}:{line}: {what}; nothing was written",
        hint="fix that line (and re-sign the manifest) or regenerate the export",
    )


def columns_of(path: Path) -> tuple[str, ...]:
    """The file's columns, as :func:`read_batches` hands them on."""
    return tuple(_export_csv(path).header or ())


def read_batches(path: Path, rows: int) -> Iterator[Batch]:
    """Batches of at most ``rows`` rows, in file order."""
    import pyarrow as pa

    export = _export_csv(path)
    raw_names = export.raw_names
    try:
        reader = export.records(list(export.header or ()))
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
            cols.append(Column(name, "fixed", fixed_times(arr, n), type="timestamp"))
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
