"""The reservoir's payload codec, the one copy of the section 10 contract: encoded (rows to
message bytes, for the broker, the store and the preview), decoded (a batch of received
messages straight into columns, each bad one with its reason) and its value rules.

Encoding: the payload as template columns, so the compiled encoder writes each row's JSON.

``Encoder("template", prefixes=...)`` writes every present value after its prefix; absent
values vanish with their prefix. So optional readings and the mobile-only ``location`` object
are masks, and the fixed JSON between values (keys, braces) lives in the prefixes and in
one-label "literal" columns. The output is compact JSON with the contract's key order:

    {"schema_version":1,"local_timestamp_ms":...,"seq":7,"sensors":{"ultrasonic":
    {"raw_readings":[1234,1240],"temperature_c":23.4}},"power":{"battery_percentage":87.5},
    "signal_strength_dbm":-71,"location":{"latitude":...,"longitude":...,"speed_kmh":...}}
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from synthkit.api import LAST_ISO_MS, Batch, Column, Encoder
from synthkit_reservoir.layout import DECIMALS as ROW_DECIMALS

# the payload's decimal places: the row layout's, for the fields the payload carries
DECIMALS = {
    name: ROW_DECIMALS[name]
    for name in ("temperature_c", "battery_percentage", "latitude", "longitude", "speed_kmh")
}

# The range of each payload value: the one rule a live message (database/ingest.py) and an
# imported CSV row (csvread.py) are both held to; the first is rejected, the second refuses
# its whole file. Whole numbers are int64 in every store (seq) or int32 (readings, signal).
LIMITS: dict[str, tuple[float, float]] = {
    "schema_version": (1, 1),
    "local_timestamp_ms": (0, LAST_ISO_MS),
    "seq": (0, 2**63 - 1),
    "raw_readings": (0, 2**31 - 1),  # millimetres
    "temperature_c": (-273.15, 1000.0),
    "battery_percentage": (0.0, 100.0),
    "signal_strength_dbm": (-(2**31), 2**31 - 1),
    "latitude": (-90.0, 90.0),
    "longitude": (-180.0, 180.0),
    "speed_kmh": (0.0, 10_000.0),
}
WHOLE = frozenset(
    ("schema_version", "local_timestamp_ms", "seq", "raw_readings", "signal_strength_dbm")
)
MAX_READINGS = 64


def out_of_range(name: str, values: np.ndarray) -> np.ndarray:
    """Which ``values`` of payload field ``name`` break :data:`LIMITS` (NaN included)."""
    lo, hi = LIMITS[name]
    with np.errstate(invalid="ignore"):
        return ~((values >= lo) & (values <= hi))


def limit_text(name: str) -> str:
    """The rule for ``name`` in words, for a message that quotes a value breaking it."""
    lo, hi = LIMITS[name]
    if name in WHOLE:
        return f"a whole number in {int(lo)}..{int(hi)}"
    return f"a finite number in {lo:g}..{hi:g}"


@dataclass
class PayloadFields:
    """Per-row payload values; ``raw`` is (rows, k) with -1 where absent; NaN = absent float."""

    schema_version: np.ndarray
    local_ms: np.ndarray
    seq: np.ndarray
    raw: np.ndarray
    temperature: np.ndarray
    battery: np.ndarray
    signal: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    speed: np.ndarray

    @property
    def n(self) -> int:
        return int(self.seq.shape[0])

    def take(self, idx: np.ndarray | slice) -> PayloadFields:
        return PayloadFields(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[PayloadFields]) -> PayloadFields:
        """Rows of every part; ``raw`` widened with -1 to the most readings any row has (one
        device may send 3 readings where the others send 5)."""
        width = max(p.raw.shape[1] for p in parts)
        raws = [
            p.raw
            if p.raw.shape[1] == width
            else np.pad(p.raw, ((0, 0), (0, width - p.raw.shape[1])), constant_values=-1)
            for p in parts
        ]
        joined = {
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in fields(cls)
            if f.name != "raw"
        }
        return cls(raw=np.concatenate(raws), **joined)


def payload_columns(f: PayloadFields, lead: bytes = b"") -> tuple[list[Column], dict[str, bytes]]:
    """Columns and prefixes writing one payload per row; ``lead`` goes before the ``{``."""
    n = int(f.seq.shape[0])
    cols: list[Column] = []
    prefixes: dict[str, bytes] = {}

    def add(column: Column, prefix: str) -> None:
        cols.append(column)
        prefixes[column.name] = prefix.encode()

    def literal(name: str, text: str, present: np.ndarray | None = None) -> None:
        add(
            Column(name, "label", np.zeros(n, np.int64), labels=("",), present=_mask(present)), text
        )

    def number(
        name: str, values: np.ndarray, prefix: str, present: np.ndarray | None = None
    ) -> None:
        if name in DECIMALS:
            ok = ~np.isnan(values) if present is None else present & ~np.isnan(values)
            column = Column(
                f"p.{name}",
                "decimal",
                np.where(ok, values, 0.0),
                decimals=DECIMALS[name],
                present=_mask(ok),
            )
        else:
            column = Column(f"p.{name}", "int", values.astype(np.int64), present=_mask(present))
        add(column, prefix)

    add(
        Column("p.schema_version", "int", f.schema_version.astype(np.int64)),
        lead.decode() + '{"schema_version":',
    )
    number("local_timestamp_ms", f.local_ms, ',"local_timestamp_ms":')
    number("seq", f.seq, ',"seq":')
    literal("p.sensors", ',"sensors":{"ultrasonic":{"raw_readings":[')
    raw = _readings_first(f.raw)
    for i in range(raw.shape[1]):
        number(f"raw_{i + 1}", raw[:, i], "" if i == 0 else ",", present=raw[:, i] >= 0)
    literal("p.readings_end", "]")
    number("temperature_c", f.temperature, ',"temperature_c":')
    literal("p.power", '}},"power":{')
    number("battery_percentage", f.battery, '"battery_percentage":')
    literal("p.power_end", "}")
    number("signal_strength_dbm", f.signal, ',"signal_strength_dbm":')
    located = ~np.isnan(f.latitude) & ~np.isnan(f.longitude)
    number("latitude", f.latitude, ',"location":{"latitude":', present=located)
    number("longitude", f.longitude, ',"longitude":', present=located)
    number("speed_kmh", f.speed, ',"speed_kmh":', present=located)
    literal("p.location_end", "}", present=located)
    literal("p.end", "}")
    return cols, prefixes


def _readings_first(raw: np.ndarray) -> np.ndarray:
    """Readings packed to the left (a device that sent fewer leaves -1 at the end)."""
    gap_then_reading = (raw[:, :-1] < 0) & (raw[:, 1:] >= 0)
    if not gap_then_reading.any():
        return raw
    order = np.argsort(raw < 0, axis=1, kind="stable")
    return np.take_along_axis(raw, order, axis=1)


def _mask(present: np.ndarray | None) -> np.ndarray | None:
    return None if present is None or bool(present.all()) else present


def fields_from_batch(batch: Batch) -> tuple[np.ndarray, tuple[str, ...], PayloadFields]:
    """A reservoir row batch (export-csv's columns) as (device codes, device ids, payload
    fields): what both a replay into a database and a live publish start from."""
    col = {c.name: c for c in batch.columns}
    dev = col["device_id"]
    raw_names = sorted((n for n in col if n.startswith("raw_")), key=lambda n: int(n[4:]))
    raw = (
        np.stack([_ints(col[n]) for n in raw_names], axis=1)
        if raw_names
        else np.full((batch.n, 1), -1)
    )

    def floats(name: str) -> np.ndarray:
        c = col.get(name)
        if c is None:
            return np.full(batch.n, np.nan)
        values = c.values / 10**c.decimals if c.scaled else c.values.astype(float)
        return np.where(c.present, values, np.nan) if c.present is not None else values

    sv = col["schema_version"]
    versions = (
        np.array([int(v) for v in sv.labels], np.int64)[sv.values]
        if sv.kind == "label"
        else sv.values.astype(np.int64)
    )
    values = PayloadFields(
        schema_version=versions,
        local_ms=col["local_timestamp_ms"].values.astype(np.int64),
        seq=col["seq"].values.astype(np.int64),
        raw=raw,
        temperature=floats("temperature_c"),
        battery=floats("battery_percentage"),
        signal=col["signal_strength_dbm"].values.astype(np.int64),
        latitude=floats("latitude"),
        longitude=floats("longitude"),
        speed=floats("speed_kmh"),
    )
    return np.asarray(dev.values, np.int64), tuple(str(x) for x in dev.labels), values


def _ints(c: Column) -> np.ndarray:
    values = c.values.astype(np.int64)
    return np.where(c.present, values, -1) if c.present is not None else values


class PayloadWriter:
    """Section 10 payload bytes per row, by the compiled template encoder."""

    def __init__(self) -> None:
        self._encoders: dict[tuple[str, ...], Encoder] = {}

    def lines(
        self,
        fields: PayloadFields,
        lead: bytes = b"",
        head: tuple[Column, ...] = (),
        head_prefixes: dict[str, bytes] | None = None,
    ) -> bytes:
        """One line per row: the ``head`` columns (after their prefixes), ``lead``, the payload."""
        cols, prefixes = payload_columns(fields, lead)
        prefixes.update(head_prefixes or {})
        batch = Batch([*head, *cols])
        encoder = self._encoders.get(batch.names)
        if encoder is None:  # one per layout (readings per row, location or not)
            encoder = self._encoders[batch.names] = Encoder(
                "template", threads=1, prefixes=prefixes
            )
        return encoder.encode_bytes(batch)


def mqtt_payloads() -> Callable[[Batch], list[bytes]]:
    """The ``payloads`` function the mqtt sink takes: each row's section 10 payload."""
    writer = PayloadWriter()
    return lambda batch: writer.lines(fields_from_batch(batch)[2]).split(b"\n")[:-1]


def preview_payloads(batch: Batch) -> list[dict[str, Any]]:
    """Each row's payload as the device publishes it, parsed (what dry-run shows): the
    encoder's bytes, so a preview can never differ from what is sent."""
    return [json.loads(line) for line in mqtt_payloads()(batch)]


# ------------------------------------------------------------------------------ decoding


def parse(data: bytes) -> Any:
    """A message's JSON, or ValueError (``BAD_JSON (why)``): no NaN/Infinity, no nesting
    deeper than Python can recurse, valid UTF-8."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(data, parse_constant=refuse)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        kind = (
            "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())
        )
        raise ValueError(f"BAD_JSON ({kind})"[:300]) from None


def _whole(value: Any, name: str) -> int:
    # JSON true is an int to Python and 1e300 a float: only whole JSON numbers in range count
    lo, hi = LIMITS[name]
    if type(value) is not int or not lo <= value <= hi:
        raise ValueError(f"{name} {str(value)[:30]!r} is not {limit_text(name)}")
    return value


def _number(value: Any, name: str, *, absent: bool = False) -> float:
    if value is None and absent:
        return float("nan")
    lo, hi = LIMITS[name]
    if type(value) not in (int, float) or not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} {str(value)[:30]!r} is not {limit_text(name)}")
    return float(value)


def _values(payload: Any) -> tuple[Any, ...]:
    """One parsed payload's values, in :class:`PayloadFields` order (raw readings a list)."""
    ultra = payload["sensors"]["ultrasonic"]
    readings = ultra["raw_readings"]
    if not isinstance(readings, list):
        raise TypeError("raw_readings is not a list")
    raw = [_whole(v, "raw_readings") for v in readings[: MAX_READINGS + 1]]
    if len(raw) > MAX_READINGS:
        raise ValueError(f"more than {MAX_READINGS} raw readings")
    loc = payload.get("location") or {}
    if not isinstance(loc, dict):
        raise TypeError("location is not an object")
    seq = _whole(payload["seq"], "seq")  # checked in this order: the first problem is named
    local_ms = _whole(payload["local_timestamp_ms"], "local_timestamp_ms")
    return (
        _whole(payload["schema_version"], "schema_version"),
        local_ms,
        seq,
        raw,
        _number(ultra["temperature_c"], "temperature_c"),
        _number(payload["power"]["battery_percentage"], "battery_percentage"),
        _whole(payload["signal_strength_dbm"], "signal_strength_dbm"),
        _number(loc.get("latitude"), "latitude", absent=True),
        _number(loc.get("longitude"), "longitude", absent=True),
        _number(loc.get("speed_kmh"), "speed_kmh", absent=True),
    )


def decode(payloads: Sequence[Any]) -> tuple[PayloadFields, list[int], list[tuple[int, str]]]:
    """Parsed payloads as columns, built once for the whole batch: (the fields of the valid
    ones, their indices, (index, ``BAD_PAYLOAD (why)``) for each of the others). Nothing a
    device sends can make decoding fail, only be rejected."""
    rows: list[tuple[Any, ...]] = []
    kept: list[int] = []
    bad: list[tuple[int, str]] = []
    for i, payload in enumerate(payloads):
        try:
            rows.append(_values(payload))
            kept.append(i)
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
            what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            bad.append((i, f"BAD_PAYLOAD ({what})"[:300]))
    columns = list(zip(*rows)) if rows else [()] * 10
    width = max([1, *(len(r) for r in columns[3])])
    raw = np.full((len(rows), width), -1, np.int64)
    for j, readings in enumerate(columns[3]):
        raw[j, : len(readings)] = readings
    ints = lambda k: np.array(columns[k], np.int64)  # noqa: E731 - four columns, one rule
    floats = lambda k: np.array(columns[k], np.float64)  # noqa: E731
    fields_ = PayloadFields(
        schema_version=ints(0),
        local_ms=ints(1),
        seq=ints(2),
        raw=raw,
        temperature=floats(4),
        battery=floats(5),
        signal=ints(6),
        latitude=floats(7),
        longitude=floats(8),
        speed=floats(9),
    )
    return fields_, kept, bad
