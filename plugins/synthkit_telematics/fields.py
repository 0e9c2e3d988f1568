"""Event types' own fields as columns: the union of every type's fields (one column per
name), eligibility conditions checked, seed-style ``attributes(rng)`` called per event, and
each field's values turned into a typed column."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from synthkit.api import Column, EventContext, EventType, FieldSpec, PluginError, rand

BASE_FIELDS = (
    "event_id",
    "driver_id",
    "trip_id",
    "ts",
    "event_type",
    "latitude",
    "longitude",
    "speed_mph",
    "heading_deg",
    "period_minute",
    "car_type",
    "car_value",
    "car_sportiness",
)
# The conditions an event type may put in EventType.eligible, with their defaults: with the
# columns of its EventContext (speed_mph, posted_speed_mph, local_hour, intensity), the
# telematics family's side of the event-type contract (docs/plugins.md).
ELIGIBILITY: dict[str, Any] = {"min_speed_mph": 0.0, "night_only": False, "over_limit_mph": None}


# the fields an event may carry besides its type's: the base fields, the driver's risk profile
# (--extreme-variance), its number when a run has faults, and an options file's context
RESERVED = (*BASE_FIELDS, "driver_profile", "seq", "region", "weather", "traffic")


class TypeColumns:
    """Output fields of all event types, merged by name (a field shared by two types is one
    column); kinds must agree."""

    def __init__(self, types: list[EventType], fields: dict[str, tuple[FieldSpec, ...]]):
        self.types, self.fields = types, fields
        self.order: list[FieldSpec] = []
        seen: dict[str, FieldSpec] = {}
        for et in types:
            for spec in fields[et.name]:
                if spec.name in RESERVED:
                    raise PluginError(
                        f"event type {et.name!r} declares the field {spec.name!r}, which every "
                        "event may carry already",
                        hint=f"give it another name (taken: {', '.join(RESERVED)})",
                    )
                if spec.name in seen:
                    if (seen[spec.name].kind, seen[spec.name].decimals) != (
                        spec.kind,
                        spec.decimals,
                    ):
                        raise PluginError(
                            f"field {spec.name!r} has different kinds in two event types"
                        )
                    continue
                seen[spec.name] = spec
                self.order.append(spec)

    def columns(
        self,
        etype: np.ndarray,
        rowkey: np.ndarray,
        speed: np.ndarray,
        posted: np.ndarray,
        hour: np.ndarray,
        intensity: np.ndarray,
        drv: np.ndarray,
    ) -> list[Column]:
        """Each event type's fields for its rows of a batch (``etype`` codes into ``types``),
        merged into columns: what its ``generate`` (or its scalar attributes) says."""
        rows = etype.shape[0]
        out: dict[str, dict[str, Any]] = {}
        for spec in self.order:
            out[spec.name] = {"spec": spec, "present": np.zeros(rows, np.bool_), "parts": []}
        for t, et in enumerate(self.types):
            idx = np.flatnonzero(etype == t)
            if idx.size == 0 or not self.fields[et.name]:
                continue
            if et.generate is not None:
                ctx = EventContext(
                    rowkey[idx],
                    speed_mph=speed[idx] / 10.0,
                    posted_speed_mph=posted[idx],
                    local_hour=hour[idx],
                    intensity=intensity[drv[idx]],
                )
                values = dict(et.generate(ctx))
            else:
                values = scalar_values(et, rowkey[idx], self.fields[et.name])
            expected = {f.name for f in self.fields[et.name]}
            if set(values) != expected:
                raise PluginError(
                    f"event type {et.name!r} returned fields {sorted(values)}, "
                    f"declared {sorted(expected)}"
                )
            for name, arr in values.items():
                out[name]["present"][idx] = True
                out[name]["parts"].append((idx, np.asarray(arr)))
        return [column(name, o["spec"], o["present"], o["parts"], rows) for name, o in out.items()]


def probe_fields(et: EventType) -> tuple[FieldSpec, ...]:
    """Learn a seed-style event type's fields by calling it once."""
    assert et.attributes is not None
    sample = et.attributes(rand.KeyedRandom(0))
    specs = []
    for name, value in sample.items():
        kind = (
            "bool"
            if isinstance(value, bool)
            else "int"
            if isinstance(value, int)
            else "decimal"
            if isinstance(value, float)
            else "str"
        )
        specs.append(FieldSpec(name, kind))  # type: ignore[arg-type]
    return tuple(specs)


def eligibility(et: EventType) -> dict[str, Any]:
    """``et.eligible`` over the defaults, checked: a misspelt or mistyped condition is an
    error naming the event type, not a type that is silently always eligible."""
    unknown = sorted(set(et.eligible) - set(ELIGIBILITY))
    if unknown:
        raise PluginError(
            f"event type {et.name!r}: unknown eligibility condition(s) {', '.join(unknown)}",
            hint=f"the telematics family knows {', '.join(ELIGIBILITY)}",
        )
    when = {**ELIGIBILITY, **et.eligible}
    night, limit = when["night_only"], when["over_limit_mph"]
    numbers_ok = _number(when["min_speed_mph"]) and (limit is None or _number(limit))
    if not (numbers_ok and isinstance(night, bool)):
        raise PluginError(
            f"event type {et.name!r}: eligibility {dict(et.eligible)!r} is not valid",
            hint="min_speed_mph and over_limit_mph are finite numbers (or None), night_only a bool",
        )
    return when


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def scalar_values(et: EventType, keys: np.ndarray, fields: tuple[FieldSpec, ...]) -> dict:
    """Call a seed-style ``attributes(rng)`` once per event, each with its own stream."""
    assert et.attributes is not None
    rng = rand.KeyedRandom()
    cols: dict[str, list[Any]] = {f.name: [] for f in fields}
    salt = rand.stable_key("event_type", et.name)
    for key in keys.tolist():
        rng.reset(key ^ salt)
        values = et.attributes(rng)
        if set(values) != set(cols):
            raise PluginError(
                f"event type {et.name!r} returned fields {sorted(values)}, declared {sorted(cols)}"
            )
        for name, value in values.items():
            cols[name].append(value)
    return {name: np.array(vals, dtype=object) for name, vals in cols.items()}


def column(name: str, spec: FieldSpec, present: np.ndarray, parts: list, rows: int) -> Column:
    """One output field's column from the parts each event type gave (row indices, values)."""
    if spec.kind in ("int", "decimal") and all(p[1].dtype != object for p in parts):
        values = np.zeros(rows, np.int64 if spec.kind == "int" else np.float64)
        for idx, arr in parts:
            values[idx] = arr
        if spec.kind == "int":
            return Column(name, "int", values, decimals=spec.decimals, present=present)
        return Column(name, "decimal", values, decimals=spec.decimals, present=present)
    # labels: bools, strings, and anything a seed-style plugin returned, rendered as given
    labels = _Labels(spec.choices)
    codes = np.zeros(rows, np.int64)
    for idx, arr in parts:
        codes[idx] = labels.codes(name, spec, arr)
    return Column(name, "label", codes, labels=tuple(labels.values), present=present)


class _Labels:
    """A label column's values in order of first sight (the declared choices first), each
    value keyed by its type and itself (1 and True are two labels)."""

    def __init__(self, choices: tuple[Any, ...]) -> None:
        self.values: list[Any] = list(choices)
        self.index: dict[tuple[type, Any], int] = {(type(v), v): i for i, v in enumerate(choices)}
        self.choices = choices

    def code(self, value: Any) -> int:
        key = (type(value), value)
        if key not in self.index:
            self.index[key] = len(self.values)
            self.values.append(value)
        return self.index[key]

    def codes(self, name: str, spec: FieldSpec, arr: np.ndarray) -> np.ndarray:
        if arr.dtype == np.bool_ and not self.values:
            self.values, self.index = [False, True], {(bool, False): 0, (bool, True): 1}
        if arr.dtype == np.bool_ and self.values == [False, True]:
            return arr.astype(np.int64)
        if self.choices and np.issubdtype(arr.dtype, np.integer):
            # vectorised generators may return indices into the declared choices
            if arr.size and (arr.min() < 0 or arr.max() >= len(self.choices)):
                raise PluginError(f"field {name!r}: choice index out of range")
            return arr
        if arr.dtype != object and arr.size:
            uniq, inverse = np.unique(arr, return_inverse=True)
            mapped = np.array([self.code(v) for v in uniq.tolist()], np.int64)
            return mapped[inverse]
        return np.array([self.code(v) for v in arr.tolist()], np.int64)
