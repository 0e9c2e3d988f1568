"""analyze-csv's fast pass: the columnar reader and numpy, ~6x faster than the exact pass
(:mod:`.analyze_scan`), which runs instead when this one cannot prove the file clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthkit.api import iso_epoch
from synthkit_reservoir.analyze_scan import REQUIRED, RUNOUT_LEVEL_PCT, Device, day_text, file_facts
from synthkit_reservoir.csvfile import ExportCsv, fixed_times


class _NotClean(Exception):
    """The fast pass cannot prove the file clean: the exact pass names what is off."""


def fast_scan(
    path: Path,
    devices: dict[str, Device],
    facts: tuple[str, bool] | None = None,
    on_rows: Callable[[int], None] = lambda n: None,
    order: bool = True,
    also: Any = None,
) -> tuple[str | None, int, bool]:
    """Vectorised pass (the columnar reader + numpy) that can only *prove a file clean* and
    aggregate it: ~6x faster than the exact pass. Any anomaly (bad cell, wrong column count,
    truncated line, seq or timestamp irregularity, level out of bounds) returns
    ``(None, 0, False)`` and the caller falls back to :func:`scan`, which names every line.
    ``order=False``: seqs and times out of order are not anomalies (labels account for them).
    ``also``: a second reader of the same batches (``columns``, ``add(batch)``; the label
    pass), fed from this one read of the file; on ``None`` its state is partial."""
    import pyarrow as pa

    sha, ends_with_newline = facts or file_facts(path)
    export = ExportCsv(path)
    if not ends_with_newline or export.header is None or export.missing(REQUIRED):
        return None, 0, False  # the exact pass names it
    bad_rows: list[object] = []
    wanted = list(REQUIRED) + [c for c in (also.columns if also else ()) if c not in REQUIRED]
    reader = export.records(
        wanted, block_size=16 << 20, on_invalid=lambda row: _keep(bad_rows, row)
    )
    fold = _Fold(devices, order)
    try:
        for batch in reader:
            if bad_rows:
                raise _NotClean
            on_rows(batch.num_rows)
            fold.add(batch)
            if also is not None:
                also.add(batch)
    except (_NotClean, pa.ArrowInvalid, pa.ArrowTypeError):
        return None, 0, False
    finally:  # an early return leaves no read-ahead running (its row handler is Python code)
        reader.close()
    if bad_rows:
        return None, 0, False
    return sha, fold.total, False


class _Fold:
    """The fast pass's per-device state, one record batch at a time."""

    def __init__(self, devices: dict[str, Device], order: bool = True) -> None:
        import numpy as np

        self.devices, self.total, self.order = devices, 0, order
        self.index: dict[str, int] = {}  # device id -> its place in state and the arrays
        self.state: list[Device] = []
        self.last_seq = np.zeros(0, np.int64)
        self.last_time = np.zeros(0, np.int64)

    def add(self, batch: Any) -> None:
        import numpy as np

        n = batch.num_rows
        if n == 0:
            return
        codes = self._codes(batch.column("device_id"))
        cols = {name: batch.column(name) for name in REQUIRED[1:]}
        if any(
            c.null_count for name, c in cols.items() if name not in ("loss_liters", "distance_km")
        ):
            raise _NotClean
        seq = cols["seq"].to_numpy()
        ts, valid = iso_epoch(fixed_times(cols["received_at"], n))
        level, liters = cols["level_pct"].to_numpy(), cols["liters"].to_numpy()
        if not valid.all() or not ((level >= 0) & (level <= 100) & (liters >= 0)).all():
            raise _NotClean
        order = np.argsort(codes, kind="stable")  # per device, in file order
        first = self._in_order(codes[order], seq[order], ts[order])
        self._aggregate(batch, codes, order, first, ts, level, liters, cols)
        self.total += n

    def _codes(self, column: Any) -> Any:
        """Each row's device as an index into ``state`` (the batch's dictionary remapped)."""
        import numpy as np

        names = column.dictionary.to_pylist()
        for name in names:
            if name not in self.index:
                self.index[name] = len(self.state)
                self.state.append(self.devices[name])
        grow = len(self.state) - self.last_seq.shape[0]
        if grow:
            self.last_seq = np.concatenate([self.last_seq, np.full(grow, -(2**62), np.int64)])
            self.last_time = np.concatenate([self.last_time, np.full(grow, -(2**62), np.int64)])
        remap = np.array([self.index[name] for name in names], np.int64)
        return remap[column.indices.to_numpy(zero_copy_only=False)]

    def _in_order(self, c: Any, sq: Any, tt: Any) -> Any:
        """Whether each device's seqs count up by one and its times never go back (across
        batches too); the mask of each device's first row in the batch."""
        import numpy as np

        first = np.ones(c.shape[0], bool)
        first[1:] = c[1:] != c[:-1]
        prev_seq = np.where(first, self.last_seq[c], np.roll(sq, 1))
        prev_time = np.where(first, self.last_time[c], np.roll(tt, 1))
        known = prev_seq > -(2**62)
        if self.order and ((known & (sq != prev_seq + 1)).any() or (tt < prev_time).any()):
            raise _NotClean
        ends = np.flatnonzero(np.r_[first[1:], True])  # each device's last row in the batch
        self.last_seq[c[ends]] = sq[ends]
        self.last_time[c[ends]] = tt[ends]
        return first

    def _aggregate(
        self,
        batch: Any,
        codes: Any,
        order: Any,
        first: Any,
        ts: Any,
        level: Any,
        liters: Any,
        cols: dict[str, Any],
    ) -> None:
        import numpy as np
        import pyarrow as pa

        inflow = cols["inflow_liters"].to_numpy()
        sums = {
            "liters_sum": liters,
            "inflow": inflow,
            "outflow": cols["outflow_liters"].to_numpy(),
            "loss": cols["loss_liters"].fill_null(0.0).to_numpy(),
            "km": cols["distance_km"].fill_null(0.0).to_numpy(),
        }
        k = len(self.state)
        rows = np.bincount(codes, minlength=k)
        events = np.bincount(codes, weights=inflow > 0, minlength=k)
        totals = {name: np.bincount(codes, weights=v, minlength=k) for name, v in sums.items()}
        day = ts // 86_400
        day_pairs = np.unique(codes * 1_000_000 + day)
        low_pairs = np.unique((codes * 1_000_000 + day)[level < RUNOUT_LEVEL_PCT])
        first_rows = order[np.flatnonzero(first)]
        picked = pa.array(first_rows)
        modes = batch.column("mode").take(picked).to_pylist()
        archetypes = batch.column("archetype").take(picked).to_pylist()
        for d, mode, arch in zip(codes[first_rows].tolist(), modes, archetypes):
            self.state[d].mode, self.state[d].archetype = str(mode), str(arch)
        for d in np.flatnonzero(rows).tolist():
            dev = self.state[d]
            dev.rows += int(rows[d])
            dev.supply_events += int(events[d])
            for name, arr in totals.items():
                setattr(dev, name, getattr(dev, name) + float(arr[d]))
        for pair in day_pairs.tolist():
            self.state[pair // 1_000_000].days.add(day_text(pair % 1_000_000))
        for pair in low_pairs.tolist():
            self.state[pair // 1_000_000].runout_days.add(day_text(pair % 1_000_000))


def _keep(bad_rows: list[Any], row: Any) -> str:
    """pyarrow's invalid-row handler: note the row, skip it."""
    bad_rows.append(row)
    return "skip"
