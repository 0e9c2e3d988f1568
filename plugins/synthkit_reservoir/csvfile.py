"""An export's telemetry_rows.csv, read one way by import-csv and analyze-csv: its header and
the reservoir layout's types (:class:`ExportCsv`), a streaming columnar reader over it
(pyarrow, :meth:`ExportCsv.records`), and the line-by-line reading that names a line when
the columnar reader finds something off (:meth:`ExportCsv.lines`)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from synthkit_reservoir.layout import DECIMALS

INT_COLUMNS = ("seq", "local_timestamp_ms", "signal_strength_dbm", "schema_version")


class ExportCsv:
    """The file's header (None when the file is empty) and each column's Arrow type: whole
    numbers and decimals as the layout writes them, ``received_at`` text, every other column
    a label (dictionary-encoded text)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # utf-8-sig: a byte-order mark (a spreadsheet's save) is not part of the first name
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            self.header: list[str] | None = next(csv.reader(fh), None)
        self.raw_names = [h for h in self.header or () if h.startswith("raw_")]

    def missing(self, required: tuple[str, ...]) -> list[str]:
        return [name for name in required if name not in (self.header or ())]

    def types(self) -> dict[str, Any]:
        import pyarrow as pa

        ints = {*INT_COLUMNS, *self.raw_names}
        return {
            name: pa.int64()
            if name in ints
            else pa.float64()
            if name in DECIMALS
            else pa.string()
            if name == "received_at"
            else pa.dictionary(pa.int32(), pa.string())
            for name in self.header or ()
        }

    def numbers(self) -> list[str]:
        """The columns holding whole numbers or decimals."""
        import pyarrow as pa

        return [name for name, t in self.types().items() if t in (pa.int64(), pa.float64())]

    def is_int(self, name: str) -> bool:
        return name in INT_COLUMNS or name in self.raw_names

    def records(
        self,
        columns: list[str],
        *,
        block_size: int = 1 << 20,
        on_invalid: Callable[[Any], str] | None = None,
    ) -> Any:
        """pyarrow's streaming reader over ``columns`` (typed as :meth:`types` says); an
        empty cell is a null (a value that does not apply: a stationary row's point_id).
        ``on_invalid``: called with each row of the wrong width (return "skip"); without it,
        such a row raises ``pyarrow.ArrowInvalid``."""
        import pyarrow.csv as pcsv

        types = self.types()
        return pcsv.open_csv(
            self.path,
            read_options=pcsv.ReadOptions(block_size=block_size),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                include_columns=columns,
                column_types={name: types[name] for name in columns},
                strings_can_be_null=True,
            ),
        )

    def lines(self) -> Iterator[tuple[int, list[str], bool]]:
        """(line number, cells, whether it is the last row) for each data row, the header
        skipped; a row whose quoted cells span lines is numbered by its first line."""
        with open(self.path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            reader = csv.reader(fh)
            if next(reader, None) is None:
                return
            row = next(reader, None)
            start = _start_of(reader, row)
            while row is not None:
                following = next(reader, None)
                yield start, row, following is None
                row, start = following, _start_of(reader, following)


def _start_of(reader: Any, row: list[str] | None) -> int:
    """The first line of the row ``reader`` just returned: its line number less the line
    breaks inside its quoted cells."""
    if row is None:
        return reader.line_num
    return reader.line_num - sum(cell.count("\n") for cell in row)


def fixed_times(column: Any, n: int) -> np.ndarray:
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
