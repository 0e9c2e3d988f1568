"""analyze-csv's exact pass over telemetry_rows.csv: line by line, naming each problem, run
when the fast pass (:mod:`.analyze_fast`) finds something off; both fill the same per-device
aggregates, defined here."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from synthkit.api import sha256_file
from synthkit_reservoir.csvfile import ExportCsv

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


ORDER_KINDS = frozenset({"seq_gap", "seq_duplicate", "seq_non_monotonic", "timestamp_order"})


class Findings:
    """Problems by kind, the first few of each named; kinds in ``skip`` are not counted
    (a faulted export's labels account for its records' order)."""

    def __init__(self, skip: frozenset[str] = frozenset()) -> None:
        self.skip = skip
        self.counts: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []
        self._per_kind: dict[str, int] = defaultdict(int)

    def add(self, kind: str, line: int | str, message: str) -> None:
        """``line``: the CSV line, or the name of the file the finding is about (the manifest)."""
        if kind in self.skip:
            return
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
    """The exact pass: the file's sha256, every row checked (each problem named by its
    line), per-device aggregates."""
    sha, ends_with_newline = facts or file_facts(path)
    truncated = not ends_with_newline and path.stat().st_size > 0
    export = ExportCsv(path)
    if export.header is None:
        found.add("invalid_row", 1, "the file is empty (no header)")
        return sha, 0, truncated
    missing = export.missing(REQUIRED)
    if missing:
        found.add("invalid_row", 1, f"header lacks column(s) {', '.join(missing)}")
        return sha, 0, truncated
    width, at = len(export.header), [export.header.index(name) for name in REQUIRED]
    total = 0
    for n, (line, row, last) in enumerate(export.lines(), 1):
        if n % _PROGRESS_EVERY == 0:
            on_rows(_PROGRESS_EVERY)
        if len(row) != width:
            what = "truncated last line" if truncated and last else "wrong column count"
            found.add("invalid_row", line, f"{what}: {len(row)} columns, the header has {width}")
            continue
        cells = dict(zip(REQUIRED, (row[i] for i in at)))
        try:
            numbers = _numbers(cells)
        except ValueError as exc:
            found.add("invalid_row", line, f"not a number: {exc}")
            continue
        total += 1
        _check_row(found, line, devices[cells["device_id"]], cells, numbers)
    return sha, total, truncated


def _numbers(cells: dict[str, str]) -> dict[str, float]:
    """A row's numbers (ValueError for a cell that is not one); seq a whole number."""
    out = {
        name: float(cells[name])
        for name in ("level_pct", "liters", "inflow_liters", "outflow_liters")
    }
    out["seq"] = int(cells["seq"])
    for name in ("loss_liters", "distance_km"):  # empty where they do not apply
        out[name] = float(cells[name]) if cells[name] else 0.0
    return out


def _check_row(
    found: Findings, line: int, dev: Device, cells: dict[str, str], v: dict[str, float]
) -> None:
    """One row's checks against its device's history, and its share of the aggregates."""
    device, stamp, seq = cells["device_id"], cells["received_at"], int(v["seq"])
    if not _ISO.match(stamp):
        found.add("invalid_timestamp", line, f"received_at {stamp!r} is not YYYY-MM-DDTHH:MM:SSZ")
    elif stamp < dev.last_time:
        found.add("timestamp_order", line, f"{device}: {stamp} is earlier than {dev.last_time}")
    else:
        dev.last_time = stamp
    if dev.last_seq is not None:
        if seq == dev.last_seq:
            found.add("seq_duplicate", line, f"{device}: seq {seq} repeated")
        elif seq < dev.last_seq:
            found.add("seq_non_monotonic", line, f"{device}: seq {seq} after {dev.last_seq}")
        elif seq > dev.last_seq + 1:
            found.add("seq_gap", line, f"{device}: seq jumps {dev.last_seq} -> {seq}")
    dev.last_seq = seq if dev.last_seq is None else max(seq, dev.last_seq)
    level, liters = v["level_pct"], v["liters"]
    if not (0.0 <= level <= 100.0) or liters < 0:
        found.add("level_out_of_bounds", line, f"{device}: level_pct {level}, liters {liters}")
    dev.rows += 1
    dev.archetype, dev.mode = cells["archetype"], cells["mode"]
    dev.liters_sum += liters
    if v["inflow_liters"] > 0:
        dev.inflow += v["inflow_liters"]
        dev.supply_events += 1
    dev.outflow += v["outflow_liters"]
    dev.loss += v["loss_liters"]
    dev.km += v["distance_km"]
    day = stamp[:10]
    dev.days.add(day)
    if level < RUNOUT_LEVEL_PCT:
        dev.runout_days.add(day)


def day_text(day: int) -> str:
    return date.fromordinal(date(1970, 1, 1).toordinal() + day).isoformat()
