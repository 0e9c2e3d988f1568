"""How the encoder lays a batch out for its kernel (:mod:`synthkit.encode`): columns stacked
into the arrays the kernel reads, rows of a lazily taken batch gathered straight into them
(one copy, not two), and where a column's table of rendered numbers starts."""

from __future__ import annotations

import numpy as np

TABLE_SPAN = 2048  # numbers whose batch range fits this are written from a rendered table


def stacked(parts: list[tuple[np.ndarray, np.ndarray | None]], n: int, dtype: type) -> np.ndarray:
    """The parts as the rows of one (parts x n) array, each gathered straight into it."""
    out: np.ndarray = np.empty((max(1, len(parts)), n), dtype)
    if not parts:
        out[:] = 0
    for row, (values, at) in zip(out, parts):
        if at is None:
            row[:] = values
        elif values.dtype == out.dtype:
            np.take(values, at, out=row, mode="clip")  # "raise" would buffer a copy
        else:
            row[:] = values[at]
    return out


def flat_rows(parts: list[tuple[np.ndarray, np.ndarray | None]], n: int, size: int) -> np.ndarray:
    """Fixed-width columns one after another in one flat buffer (8 bytes of slack at the end:
    the kernel's 8-byte copies may read past the last row), rows gathered straight into it."""
    out = np.empty(size + 8, np.uint8)
    out[size:] = 0
    start = 0
    for values, at in parts:
        width = int(values.shape[1])
        part = out[start : start + n * width]
        if at is None:
            part.reshape(n, width)[:] = values
        elif width and values.flags.c_contiguous:  # each row one opaque item: one gather
            rows = values.view(f"V{width}").reshape(-1)
            np.take(rows, at, out=part.view(f"V{width}"), mode="clip")
        else:
            part.reshape(n, width)[:] = values[at]
        start += n * width
    return out


def table_base(scaled: np.ndarray) -> int | None:
    """Where a table of numbers that holds the column's values starts (values outside it are
    written as digits), or None when they spread too wide for one. A few outliers (a spike,
    a stuck sensor's zero) do not push the rest onto the slower digit path: when the whole
    range is too wide, a table holding 90% of a sample of them will do."""
    if not len(scaled):
        return 0
    lo, hi = int(scaled.min()), int(scaled.max())
    if hi - lo >= TABLE_SPAN:
        sample = np.sort(scaled[:: max(1, len(scaled) // 512)])
        lo, hi = int(sample[len(sample) // 20]), int(sample[len(sample) * 19 // 20])
        if hi - lo >= TABLE_SPAN:
            return None
    return (lo // TABLE_SPAN) * TABLE_SPAN
