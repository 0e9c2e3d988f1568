"""Monthly driver features (``synthkit telematics features``): the seed's "downstream
aggregation job" that rolls events into one row per driver and month, what its risk model
consumes. Columnar throughout: events are read in Arrow batches (Parquet, CSV, JSON lines, or
the endpoint's table), and each batch is folded into per-(driver, month) sums with numpy, so
memory holds the groups, not the events.

A driver makes one event per driving minute (docs/cli.md), so a minute at ``speed_mph``
covers ``speed_mph / 60`` miles; the rates are per 100 of those miles. A month is the UTC
calendar month of ``ts``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# (name, what it is): the output's columns after driver_id and month, in order
FEATURES = (
    ("events", "events in the month"),
    ("trips", "distinct trip_id"),
    ("driving_minutes", "minutes driven (one event per driving minute)"),
    ("miles", "sum of speed_mph / 60 over the driving minutes"),
    ("hard_braking_per_100mi", "hard_braking events per 100 miles"),
    ("aggressive_turn_per_100mi", "aggressive_turn events per 100 miles"),
    ("speeding_minutes_per_100mi", "speeding duration_sec / 60, per 100 miles"),
    ("late_night_per_100mi", "late_night_driving events per 100 miles"),
    ("tailgating_ratio", "tailgating events / driving minutes"),
    ("mean_speed_mph", "mean speed_mph over the driving minutes"),
    ("max_speed_mph", "highest speed_mph"),
    ("mean_braking_g", "mean braking_g of hard_braking events (empty when none)"),
    ("abs_rate", "share of hard_braking events with abs_activation (empty when none)"),
    ("mean_over_speed_mph", "mean over_speed_mph of speeding events (empty when none)"),
    ("max_lateral_g", "highest lateral_g of aggressive_turn events (empty when none)"),
    ("mean_following_distance_m", "mean following_distance_m of tailgating (empty when none)"),
)
# what a batch must carry; type fields may be absent (that type then counts nothing)
NEEDED = ("driver_id", "ts", "event_type", "trip_id", "speed_mph")
TYPE_FIELDS = (
    "duration_sec",
    "braking_g",
    "abs_activation",
    "over_speed_mph",
    "lateral_g",
    "following_distance_m",
)
# the per-group running sums: name -> (event type it counts over ("" all), field or None)
SUMS = {
    "events": ("", None),
    "speed": ("", "speed_mph"),
    "hard_braking": ("hard_braking", None),
    "aggressive_turn": ("aggressive_turn", None),
    "speeding": ("speeding", None),
    "speeding_sec": ("speeding", "duration_sec"),
    "late_night": ("late_night_driving", None),
    "tailgating": ("tailgating", None),
    "braking_g": ("hard_braking", "braking_g"),
    "abs": ("hard_braking", "abs_activation"),
    "over_speed": ("speeding", "over_speed_mph"),
    "following": ("tailgating", "following_distance_m"),
}
MAXES = {"speed": ("", "speed_mph"), "lateral": ("aggressive_turn", "lateral_g")}


@dataclass
class _Groups:
    """(driver, month) -> slot, and the slots' running sums and maxima."""

    drivers: dict[str, int]
    months: dict[int, int]
    slots: dict[int, int]
    sums: dict[str, np.ndarray]
    maxes: dict[str, np.ndarray]
    trips: list[tuple[np.ndarray, np.ndarray]]  # (trip-and-group keys, their groups)


class MonthlyFeatures:
    """Fold event batches (:meth:`add`), then :meth:`table` the features."""

    def __init__(self) -> None:
        self.g = _Groups({}, {}, {}, {k: np.zeros(0) for k in SUMS}, {}, [])
        self.g.maxes = {k: np.zeros(0) for k in MAXES}
        self.events = 0

    def add(self, batch: Any) -> None:
        """One ``pyarrow.RecordBatch`` (or Table) of events."""
        n = batch.num_rows
        if not n:
            return
        self.events += n
        columns = dict(zip(batch.schema.names, batch.columns))
        driver = self._codes(columns["driver_id"], self.g.drivers)
        month = self._codes_of(_months(columns["ts"]), self.g.months)
        slot = self._slots(driver * (1 << 20) + month)
        types = _labels(columns["event_type"])
        values = {
            name: _floats(columns[name]) if name in columns else np.full(n, np.nan)
            for name in ("speed_mph", *TYPE_FIELDS)
        }
        size = len(self.g.slots)
        for name, (kind, field) in SUMS.items():
            rows = types[kind] if kind else None
            weights = values[field] if field else None
            self.g.sums[name] = _grown(self.g.sums[name], size) + _summed(slot, rows, weights, size)
        for name, (kind, field) in MAXES.items():
            top = _grown(self.g.maxes[name], size, -np.inf)
            keep = (types[kind] if kind else np.ones(n, bool)) & ~np.isnan(values[field])
            np.maximum.at(top, slot[keep], values[field][keep])
            self.g.maxes[name] = top
        # distinct trips per group: a 64-bit key of (trip, group), kept once each (the keys,
        # not the trip ids: memory grows with the trips, 16 bytes each, never with the events)
        keys = _hashed(columns["trip_id"]) ^ (slot.astype(np.uint64) * np.uint64(_MIX))
        keys, first = np.unique(keys, return_index=True)
        self.g.trips.append((keys, slot[first]))
        if sum(len(k) for k, _ in self.g.trips) > 1 << 22:
            self.g.trips = [_distinct(self.g.trips)]

    def _codes(self, column: Any, known: dict[str, int]) -> np.ndarray:
        """Global codes of a string (or dictionary) column's values."""
        codes, names = _encoded(column)
        table = np.array([known.setdefault(x, len(known)) for x in names], np.int64)
        return table[codes]

    def _codes_of(self, values: np.ndarray, known: dict[int, int]) -> np.ndarray:
        distinct, inverse = np.unique(values, return_inverse=True)
        table = np.array([known.setdefault(int(x), len(known)) for x in distinct], np.int64)
        return table[inverse]

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        distinct, inverse = np.unique(keys, return_inverse=True)
        table = np.array([self.g.slots.setdefault(int(k), len(self.g.slots)) for k in distinct])
        return table[inverse].astype(np.int64)

    def table(self) -> Any:
        """The features, a ``pyarrow.Table`` sorted by driver then month."""
        import pyarrow as pa

        g, size = self.g, len(self.g.slots)
        s = {k: _grown(v, size) for k, v in g.sums.items()}
        top = {k: _grown(v, size, -np.inf) for k, v in g.maxes.items()}
        trips = np.zeros(size)
        if g.trips:
            trips = np.bincount(_distinct(g.trips)[1], minlength=size).astype(float)
        miles = s["speed"] / 60.0
        per_mile = np.divide(100.0, miles, out=np.full(size, np.nan), where=miles > 0)
        minutes = s["events"]

        def mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
            return np.divide(total, count, out=np.full(size, np.nan), where=count > 0)

        out = {
            "events": minutes.astype(np.int64),
            "trips": trips.astype(np.int64),
            "driving_minutes": minutes.astype(np.int64),
            "miles": miles,
            "hard_braking_per_100mi": s["hard_braking"] * per_mile,
            "aggressive_turn_per_100mi": s["aggressive_turn"] * per_mile,
            "speeding_minutes_per_100mi": s["speeding_sec"] / 60.0 * per_mile,
            "late_night_per_100mi": s["late_night"] * per_mile,
            "tailgating_ratio": mean(s["tailgating"], minutes),
            "mean_speed_mph": mean(s["speed"], minutes),
            "max_speed_mph": np.where(np.isfinite(top["speed"]), top["speed"], np.nan),
            "mean_braking_g": mean(s["braking_g"], s["hard_braking"]),
            "abs_rate": mean(s["abs"], s["hard_braking"]),
            "mean_over_speed_mph": mean(s["over_speed"], s["speeding"]),
            "max_lateral_g": np.where(np.isfinite(top["lateral"]), top["lateral"], np.nan),
            "mean_following_distance_m": mean(s["following"], s["tailgating"]),
        }
        drivers = {v: k for k, v in g.drivers.items()}
        months = {v: k for k, v in g.months.items()}
        keys = np.array(sorted(g.slots, key=g.slots.__getitem__), np.int64).reshape(-1)
        driver_of, month_of = keys >> 20, keys & ((1 << 20) - 1)
        names = [drivers[int(d)] for d in driver_of]
        month_names = [_month_name(months[int(m)]) for m in month_of]
        order = sorted(range(size), key=lambda i: (names[i], month_names[i]))
        columns = {
            "driver_id": pa.array([names[i] for i in order]),
            "month": pa.array([month_names[i] for i in order]),
        }
        for name, _ in FEATURES:
            values = out[name][order] if size else out[name]
            columns[name] = pa.array(values, from_pandas=True)  # NaN -> null: "none"
        return pa.table(columns)


_MIX = 0x9E3779B97F4A7C15  # an odd 64-bit constant: spreads the group over the key


def _hashed(column: Any) -> np.ndarray:
    """A 64-bit FNV-1a hash of each string of ``column`` (two trips sharing one by chance:
    about 1 in 10**7 for 10M trips), computed column-wise over the padded bytes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    width = max(1, int(pc.max(pc.utf8_length(column)).as_py() or 0))
    fixed = pc.cast(pc.utf8_rpad(column.fill_null(""), width), pa.binary(width))
    data = np.frombuffer(fixed.buffers()[1], np.uint8)[fixed.offset * width :]
    rows = data[: len(fixed) * width].reshape(len(fixed), width)
    h = np.full(len(fixed), 0xCBF29CE484222325, np.uint64)
    prime = np.uint64(0x100000001B3)
    for j in range(width):
        h ^= rows[:, j].astype(np.uint64)
        h *= prime
    return h


def _distinct(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate([k for k, _ in parts])
    groups = np.concatenate([g for _, g in parts])
    keys, first = np.unique(keys, return_index=True)
    return keys, groups[first]


def _encoded(column: Any) -> tuple[np.ndarray, list[Any]]:
    """(a code per row, the distinct values) of a string or dictionary column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()


def _labels(column: Any) -> dict[str, np.ndarray]:
    """Per event type name, which rows are of it."""
    codes, names = _encoded(column)
    wanted = {kind for kind, _ in (*SUMS.values(), *MAXES.values()) if kind}
    return {
        k: codes == names.index(k) if k in names else np.zeros(len(codes), bool) for k in wanted
    }


def _floats(column: Any) -> np.ndarray:
    """A numeric (or bool) column as float64, null as NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_boolean(column.type):
        column = pc.cast(column, pa.float64())
    return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), np.float64)


def _months(column: Any) -> np.ndarray:
    """Months since 1970-01 (UTC) of a timestamp or ISO 8601 text column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(column.type):
        ms = pc.cast(column, pa.timestamp("ms", tz="UTC")).cast(pa.int64())
        return (
            np.asarray(ms.to_numpy(zero_copy_only=False))
            .astype("datetime64[ms]")
            .astype("datetime64[M]")
            .astype(np.int64)
        )
    text = pc.utf8_slice_codeunits(column, 0, 7)  # "YYYY-MM"
    year = pc.cast(pc.utf8_slice_codeunits(text, 0, 4), pa.int64()).to_numpy(zero_copy_only=False)
    month = pc.cast(pc.utf8_slice_codeunits(text, 5, 7), pa.int64()).to_numpy(zero_copy_only=False)
    return (np.asarray(year) - 1970) * 12 + np.asarray(month) - 1


def _month_name(months: int) -> str:
    return f"{1970 + months // 12:04d}-{months % 12 + 1:02d}"


def _grown(values: np.ndarray, size: int, fill: float = 0.0) -> np.ndarray:
    if len(values) >= size:
        return values
    return np.concatenate([values, np.full(size - len(values), fill)])


def _summed(
    slot: np.ndarray, rows: np.ndarray | None, weights: np.ndarray | None, size: int
) -> np.ndarray:
    if rows is not None:
        slot = slot[rows]
        weights = None if weights is None else weights[rows]
    if weights is not None:
        keep = ~np.isnan(weights)
        slot, weights = slot[keep], weights[keep]
    return np.bincount(slot, weights=weights, minlength=size).astype(float)
