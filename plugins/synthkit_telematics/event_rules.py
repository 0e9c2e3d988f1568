"""What makes a telematics event acceptable to the endpoint (``telematics serve``): the seed's
schema as the floor (a 32-digit hex ``event_id``, a ``driver_id``, a ``trip_id``, an ISO 8601
UTC ``ts``, a known ``event_type``, coordinates and a speed in range, a compass heading, the
minutes since the start), the fields each installed event type declares, of their kinds, and
a ``seq`` when there is one (a whole number >= 0: what the store dedupes on, with the driver).
Fields beyond these (context, car, profile) are kept as they came. Each refusal is one
``field: problem`` line, what the endpoint answers for the record."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from synthkit.api import EventType, FieldSpec

_HEX32 = re.compile(r"[0-9a-f]{32}")
_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|\+00:00)")
MAX_ID = 64  # characters of a driver or trip id
MAX_SEQ = 2**63 - 1


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _in(name: str, lo: float, hi: float) -> Any:
    def check(value: Any) -> str:
        if not _number(value):
            return f"{name}: must be a number"
        return "" if lo <= value <= hi else f"{name}: {value} is outside {lo:g}..{hi:g}"

    return check


def _text(name: str, pattern: re.Pattern[str] | None = None, what: str = "") -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value or (len(value) > MAX_ID and pattern is None):
            return f"{name}: must be a non-empty string of at most {MAX_ID} characters"
        if pattern is not None and not pattern.fullmatch(value):
            return f"{name}: must be {what}"
        return ""

    return check


def _ts(value: Any) -> str:
    if not isinstance(value, str) or not _UTC.fullmatch(value):
        return "ts: must be ISO 8601 UTC, e.g. 2026-01-05T02:22:37.220Z"
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"ts: {value!r} is not a real instant"
    return ""


def _heading(value: Any) -> str:
    return (
        "" if _whole(value) and 0 <= value <= 359 else "heading_deg: must be a whole number 0..359"
    )


def _minute(value: Any) -> str:
    return "" if _whole(value) and value >= 0 else "period_minute: must be a whole number >= 0"


BASE_RULES = {
    "event_id": _text("event_id", _HEX32, "32 lowercase hex digits (a UUID4 hex)"),
    "driver_id": _text("driver_id"),
    "trip_id": _text("trip_id"),
    "ts": _ts,
    "latitude": _in("latitude", -90.0, 90.0),
    "longitude": _in("longitude", -180.0, 180.0),
    "speed_mph": _in("speed_mph", 0.0, 250.0),
    "heading_deg": _heading,
    "period_minute": _minute,
}


class EventRules:
    """The rules for events of ``event_types`` (the installed ones, by name)."""

    def __init__(self, event_types: Mapping[str, EventType]) -> None:
        from synthkit_telematics.fields import probe_fields

        self.fields: dict[str, tuple[FieldSpec, ...]] = {
            name: et.fields or (probe_fields(et) if et.attributes else ())
            for name, et in event_types.items()
        }
        self.known = ", ".join(sorted(self.fields))
        # per type: (field, the Python types its kind allows, its choices) for the fast path
        self.kinds = {
            name: tuple((f.name, _TYPES[f.kind], f.choices if f.kind == "str" else ()) for f in fs)
            for name, fs in self.fields.items()
        }

    def check(self, event: Any) -> str:
        """``""`` for an acceptable event, else the first problem as ``field: problem``."""
        if self._fine(event):
            return ""
        return self._why(event) or "event: not acceptable"

    def _fine(self, e: Any) -> bool:
        """Whether ``e`` passes every rule: the same rules as :meth:`_why`, written for speed
        (most events pass; only a refused one is explained)."""
        try:
            event_id, driver, trip, ts = e["event_id"], e["driver_id"], e["trip_id"], e["ts"]
            lat, lon, speed = e["latitude"], e["longitude"], e["speed_mph"]
            heading, minute, kind = e["heading_deg"], e["period_minute"], e["event_type"]
        except (KeyError, TypeError):
            return False
        if not (
            _names_fine(event_id, driver, trip, ts)
            and _numbers_fine(lat, lon, speed, heading, minute)
        ):
            return False
        seq = e.get("seq")
        if seq is not None and not (type(seq) is int and 0 <= seq <= MAX_SEQ):
            return False
        fields = self.kinds.get(kind) if type(kind) is str else None
        if fields is None:
            return False
        for name, types, choices in fields:
            value = e.get(name, _ABSENT)
            if type(value) not in types or value != value or (choices and value not in choices):
                return False
        return True

    def _why(self, event: Any) -> str:
        if not isinstance(event, dict):
            return "event: must be a JSON object"
        for name, rule in BASE_RULES.items():
            if name not in event:
                return f"{name}: missing"
            problem = rule(event[name])
            if problem:
                return problem
        seq = event.get("seq")
        if seq is not None and not (_whole(seq) and 0 <= seq <= MAX_SEQ):
            return "seq: must be a whole number >= 0"
        kind = event.get("event_type")  # any JSON value: a list or an object is no type
        fields = self.fields.get(kind) if isinstance(kind, str) else None
        if fields is None:
            return f"event_type: {kind!r} is not one of {self.known}"
        for spec in fields:
            problem = _field(spec, event.get(spec.name, _ABSENT))
            if problem:
                return problem
        return ""


_ABSENT = object()


def _names_fine(event_id: Any, driver: Any, trip: Any, ts: Any) -> bool:
    return (
        type(event_id) is str
        and _HEX32.fullmatch(event_id) is not None
        and type(driver) is str
        and 0 < len(driver) <= MAX_ID
        and type(trip) is str
        and 0 < len(trip) <= MAX_ID
        and not _ts(ts)
    )


def _numbers_fine(lat: Any, lon: Any, speed: Any, heading: Any, minute: Any) -> bool:
    return (
        type(lat) in _NUMBERS
        and -90.0 <= lat <= 90.0
        and type(lon) in _NUMBERS
        and -180.0 <= lon <= 180.0
        and type(speed) in _NUMBERS
        and 0.0 <= speed <= 250.0
        and type(heading) is int
        and 0 <= heading <= 359
        and type(minute) is int
        and minute >= 0
    )


_NUMBERS = (int, float)  # type(x) in: a bool is neither
_TYPES = {"decimal": (int, float), "int": (int,), "bool": (bool,), "str": (str,)}


def _field(spec: FieldSpec, value: Any) -> str:
    """A type-specific field against its declared kind."""
    if value is _ABSENT:
        return f"{spec.name}: missing (its event type declares it)"
    ok = {
        "decimal": _number,
        "int": _whole,
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str) and (not spec.choices or v in spec.choices),
    }.get(spec.kind, lambda v: True)(value)
    return (
        ""
        if ok
        else f"{spec.name}: must be a {spec.kind}"
        + (f" ({', '.join(map(str, spec.choices))})" if spec.choices and spec.kind == "str" else "")
    )
