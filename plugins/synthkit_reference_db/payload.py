"""The section 10 payload as template columns, so the compiled encoder writes each row's JSON.

``Encoder("template", prefixes=...)`` writes every present value after its prefix; absent
values vanish with their prefix. So optional readings and the mobile-only ``location`` object
are masks, and the fixed JSON between values (keys, braces) lives in the prefixes and in
one-label "literal" columns. The output is compact JSON with the contract's key order:

    {"schema_version":1,"local_timestamp_ms":...,"seq":7,"sensors":{"ultrasonic":
    {"raw_readings":[1234,1240],"temperature_c":23.4}},"power":{"battery_percentage":87.5},
    "signal_strength_dbm":-71,"location":{"latitude":...,"longitude":...,"speed_kmh":...}}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthkit.batch import Column

DECIMALS = {"temperature_c": 1, "battery_percentage": 1, "latitude": 6, "longitude": 6, "speed_kmh": 1}


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


def payload_columns(f: PayloadFields, lead: bytes = b"") -> tuple[list[Column], dict[str, bytes]]:
    """Columns and prefixes writing one payload per row; ``lead`` goes before the ``{``."""
    n = int(f.seq.shape[0])
    cols: list[Column] = []
    prefixes: dict[str, bytes] = {}

    def add(column: Column, prefix: str) -> None:
        cols.append(column)
        prefixes[column.name] = prefix.encode()

    def literal(name: str, text: str, present: np.ndarray | None = None) -> None:
        add(Column(name, "label", np.zeros(n, np.int64), labels=("",), present=_mask(present)), text)

    def number(name: str, values: np.ndarray, prefix: str, present: np.ndarray | None = None) -> None:
        if name in DECIMALS:
            ok = ~np.isnan(values) if present is None else present & ~np.isnan(values)
            column = Column(f"p.{name}", "decimal", np.where(ok, values, 0.0), decimals=DECIMALS[name], present=_mask(ok))
        else:
            column = Column(f"p.{name}", "int", values.astype(np.int64), present=_mask(present))
        add(column, prefix)

    add(Column("p.schema_version", "int", f.schema_version.astype(np.int64)), lead.decode() + '{"schema_version":')
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
