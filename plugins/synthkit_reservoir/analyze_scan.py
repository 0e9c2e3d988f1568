"""analyze-csv's two passes over telemetry_rows.csv: a fast columnar pass (pyarrow) that
only aggregates, and an exact line-by-line pass that names each problem, run when the fast
pass finds something off. Both fill the same per-device aggregates."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from synthkit.api import sha256_file

RUNOUT_LEVEL_PCT = 5.0
EXAMPLES = 5  # named problems kept per kind
_PROGRESS_EVERY = 10_000  # the exact pass tells its bar every this many lines
_ISO = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$")
REQUIRED = (
    "device_id",
    "seq",
    "received_at",
    "mode",
    "archetype",
    "level_pct",
    "liters",
    "inflow_liters",
    "outflow_liters",
    "loss_liters",
    "distance_km",
)


@dataclass
class Device:
    archetype: str = ""
    mode: str = ""
    rows: int = 0
    last_seq: int | None = None
    last_time: str = ""
    liters_sum: float = 0.0
    inflow: float = 0.0
    supply_events: int = 0
    outflow: float = 0.0
    loss: float = 0.0
    km: float = 0.0
    days: set[str] = field(default_factory=set)
    runout_days: set[str] = field(default_factory=set)


class Findings:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []
        self._per_kind: dict[str, int] = defaultdict(int)

    def add(self, kind: str, line: int | str, message: str) -> None:
        """``line``: the CSV line, or the name of the file the finding is about (the manifest)."""
        self.counts[kind] += 1
        if self._per_kind[kind] < EXAMPLES:
            self._per_kind[kind] += 1
            self.examples.append(f"{'line ' if isinstance(line, int) else ''}{line}: {message}")


def file_facts(path: Path) -> tuple[str, bool]:
    """(sha256, ends with a newline): what both passes need from the raw bytes."""
    with open(path, "rb") as raw:
        size = raw.seek(0, 2)
        if size:
            raw.seek(size - 1)
        ends_with_newline = size > 0 and raw.read(1) == b"\n"
    return sha256_file(path), ends_with_newline


def scan(
    path: Path,
    found: Findings,
    devices: dict[str, Device],
    facts: tuple[str, bool] | None = None,
    on_rows: Callable[[int], None] = lambda n: None,
) -> tuple[str, int, bool]:
    """One pass: the file's sha256, the row checks, per-device aggregates."""
    sha, ends_with_newline = facts or file_facts(path)
    truncated = not ends_with_newline and path.stat().st_size > 0
    total = 0
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            found.add("invalid_row", 1, "the file is empty (no header)")
            return sha, 0, truncated
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            found.add("invalid_row", 1, f"header lacks column(s) {', '.join(missing)}")
            return sha, 0, truncated
        width = len(header)
        ix = {name: header.index(name) for name in REQUIRED}
        i_dev, i_seq, i_time, i_level, i_liters = (
            ix[k] for k in ("device_id", "seq", "received_at", "level_pct", "liters")
        )
        i_in, i_out, i_loss, i_km = (
            ix[k] for k in ("inflow_liters", "outflow_liters", "loss_liters", "distance_km")
        )
        i_mode, i_arch = ix["mode"], ix["archetype"]
        for row in reader:
            line = reader.line_num
            if line % _PROGRESS_EVERY == 0:
                on_rows(_PROGRESS_EVERY)
            if len(row) != width:
                last = truncated and fh.read(1) == ""
                what = "truncated last line" if last else "wrong column count"
                found.add(
                    "invalid_row", line, f"{what}: {len(row)} columns, the header has {width}"
                )
                continue
            try:
                seq = int(row[i_seq])
                level, liters = float(row[i_level]), float(row[i_liters])
                inflow, outflow = float(row[i_in]), float(row[i_out])
                loss = float(row[i_loss]) if row[i_loss] else 0.0
                km = float(row[i_km]) if row[i_km] else 0.0
            except ValueError as exc:
                found.add("invalid_row", line, f"not a number: {exc}")
                continue
            total += 1
            dev = devices[row[i_dev]]
            stamp = row[i_time]
            if not _ISO.match(stamp):
                found.add(
                    "invalid_timestamp", line, f"received_at {stamp!r} is not YYYY-MM-DDTHH:MM:SSZ"
                )
            elif stamp < dev.last_time:
                found.add(
                    "timestamp_order",
                    line,
                    f"{row[i_dev]}: {stamp} is earlier than {dev.last_time}",
                )
            else:
                dev.last_time = stamp
            if dev.last_seq is not None:
                if seq == dev.last_seq:
                    found.add("seq_duplicate", line, f"{row[i_dev]}: seq {seq} repeated")
                elif seq < dev.last_seq:
                    found.add(
                        "seq_non_monotonic", line, f"{row[i_dev]}: seq {seq} after {dev.last_seq}"
                    )
                elif seq > dev.last_seq + 1:
                    found.add("seq_gap", line, f"{row[i_dev]}: seq jumps {dev.last_seq} -> {seq}")
            dev.last_seq = seq if dev.last_seq is None else max(seq, dev.last_seq)
            if not (0.0 <= level <= 100.0) or liters < 0:
                found.add(
                    "level_out_of_bounds", line, f"{row[i_dev]}: level_pct {level}, liters {liters}"
                )
            dev.rows += 1
            dev.archetype, dev.mode = row[i_arch], row[i_mode]
            dev.liters_sum += liters
            if inflow > 0:
                dev.inflow += inflow
                dev.supply_events += 1
            dev.outflow += outflow
            dev.loss += loss
            dev.km += km
            day = stamp[:10]
            dev.days.add(day)
            if level < RUNOUT_LEVEL_PCT:
                dev.runout_days.add(day)
    return sha, total, truncated


def fast_scan(
    path: Path,
    devices: dict[str, Device],
    facts: tuple[str, bool] | None = None,
    on_rows: Callable[[int], None] = lambda n: None,
) -> tuple[str | None, int, bool]:
    """Vectorised pass (pyarrow's streaming CSV reader + numpy) that can only *prove a file
    clean* and aggregate it: ~6x faster than the exact pass. Any anomaly (bad cell, wrong
    column count, truncated line, seq or timestamp irregularity, level out of bounds) returns
    ``(None, 0, False)`` and the caller falls back to :func:`_scan`, which names every line."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    sha, ends_with_newline = facts or file_facts(path)
    if not ends_with_newline:  # empty or truncated: the exact pass names it
        return None, 0, False
    bad_rows: list[object] = []
    types = {
        "received_at": pa.timestamp("s", tz="UTC"),
        "seq": pa.int64(),
        "device_id": pa.dictionary(pa.int32(), pa.string()),
    }
    for name in REQUIRED[5:]:
        types[name] = pa.float64()
    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=16 << 20),
            parse_options=pcsv.ParseOptions(invalid_row_handler=lambda row: _keep(bad_rows, row)),
            convert_options=pcsv.ConvertOptions(include_columns=list(REQUIRED), column_types=types),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError, KeyError):
        return None, 0, False
    index: dict[str, int] = {}
    state: list[Device] = []
    last_seq = np.zeros(0, np.int64)
    last_time = np.zeros(0, np.int64)
    total = 0
    try:
        for batch in reader:
            if bad_rows:
                return None, 0, False
            n = batch.num_rows
            on_rows(n)
            if n == 0:
                continue
            dev_col = batch.column("device_id")
            names = dev_col.dictionary.to_pylist()
            for name in names:
                if name not in index:
                    index[name] = len(state)
                    state.append(devices[name])
            remap = np.array([index[name] for name in names], np.int64)
            codes = remap[dev_col.indices.to_numpy(zero_copy_only=False)]
            cols = {name: batch.column(name) for name in REQUIRED[1:]}
            if any(
                c.null_count
                for name, c in cols.items()
                if name not in ("loss_liters", "distance_km")
            ):
                return None, 0, False
            seq = cols["seq"].to_numpy()
            ts = cols["received_at"].cast(pa.int64()).to_numpy()
            level = cols["level_pct"].to_numpy()
            liters = cols["liters"].to_numpy()
            if (level < 0).any() or (level > 100).any() or (liters < 0).any():
                return None, 0, False
            grow = len(state) - last_seq.shape[0]
            if grow:
                last_seq = np.concatenate([last_seq, np.full(grow, -(2**62), np.int64)])
                last_time = np.concatenate([last_time, np.full(grow, -(2**62), np.int64)])
            order = np.argsort(codes, kind="stable")  # per device, in file order
            c, sq, tt = codes[order], seq[order], ts[order]
            first = np.ones(n, bool)
            first[1:] = c[1:] != c[:-1]
            prev_seq = np.where(first, last_seq[c], np.roll(sq, 1))
            prev_time = np.where(first, last_time[c], np.roll(tt, 1))
            known = prev_seq > -(2**62)
            if (known & (sq != prev_seq + 1)).any() or (tt < prev_time).any():
                return None, 0, False
            ends = np.flatnonzero(np.r_[first[1:], True])  # each device's last row in the batch
            last_seq[c[ends]] = sq[ends]
            last_time[c[ends]] = tt[ends]
            inflow = cols["inflow_liters"].to_numpy()
            sums = {
                "liters_sum": liters,
                "inflow": inflow,
                "outflow": cols["outflow_liters"].to_numpy(),
                "loss": cols["loss_liters"].fill_null(0.0).to_numpy(),
                "km": cols["distance_km"].fill_null(0.0).to_numpy(),
            }
            k = len(state)
            rows = np.bincount(codes, minlength=k)
            events = np.bincount(codes, weights=inflow > 0, minlength=k)
            totals = {name: np.bincount(codes, weights=v, minlength=k) for name, v in sums.items()}
            day = ts // 86_400
            day_pairs = np.unique(codes * 1_000_000 + day)
            low_pairs = np.unique((codes * 1_000_000 + day)[level < RUNOUT_LEVEL_PCT])
            first_rows = np.flatnonzero(first)
            mode_vals = batch.column("mode").take(pa.array(order[first_rows])).to_pylist()
            arch_vals = batch.column("archetype").take(pa.array(order[first_rows])).to_pylist()
            for d, mode, arch in zip(c[first_rows].tolist(), mode_vals, arch_vals):
                state[d].mode, state[d].archetype = str(mode), str(arch)
            for d in np.flatnonzero(rows).tolist():
                dev = state[d]
                dev.rows += int(rows[d])
                dev.supply_events += int(events[d])
                for name, arr in totals.items():
                    setattr(dev, name, getattr(dev, name) + float(arr[d]))
            for pair in day_pairs.tolist():
                state[pair // 1_000_000].days.add(_day_text(pair % 1_000_000))
            for pair in low_pairs.tolist():
                state[pair // 1_000_000].runout_days.add(_day_text(pair % 1_000_000))
            total += n
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None, 0, False
    finally:  # an early return leaves no read-ahead running (its row handler is Python code)
        reader.close()
    if bad_rows:
        return None, 0, False
    return sha, total, False


def _keep(bad_rows: list[Any], row: Any) -> str:
    """pyarrow's invalid-row handler: note the row, skip it."""
    bad_rows.append(row)
    return "skip"


def _day_text(day: int) -> str:
    return date.fromordinal(date(1970, 1, 1).toordinal() + day).isoformat()
