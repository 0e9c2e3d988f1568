"""Which clock a live telematics feed carries.

The generator walks each driver's trips minute by minute on a simulated clock that starts at
``--start`` and runs far ahead of the wall (a driven minute per event, every driver in turn),
so its timestamps are neither now nor in order across drivers. A live feed (`stream`,
`publish`) stamps each event with the time it is emitted instead (``wall``, the default): the
timestamps are then the wall clock, in order. ``simulated`` keeps the generator's, which are
deterministic (same seed and start, same bytes), for replaying history.
"""

from __future__ import annotations

import time

import numpy as np

from synthkit.api import Batch, Column, ConfigError

CLOCKS = ("wall", "simulated")
_ISO_WIDTH = 24  # YYYY-MM-DDTHH:MM:SS.mmmZ, the generator's form


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def on_the_wall_clock(batch: Batch, started_ms: int) -> Batch:
    """``batch`` with every event's ``ts`` the moment it is handed on (milliseconds, UTC), and
    its ``period_minute`` the minutes since the feed started at ``started_ms`` (0 first, as the
    original's stream)."""
    ms = now_ms()
    text = (np.datetime_as_string(np.datetime64(ms, "ms"), unit="ms") + "Z").encode()
    assert len(text) == _ISO_WIDTH, text
    iso = np.tile(np.frombuffer(text, np.uint8), (batch.n, 1))
    stamped = {
        "ts": Column("ts", "fixed", iso, type="timestamp", epoch=np.full(batch.n, ms, np.int64)),
        "period_minute": Column(
            "period_minute", "int", np.full(batch.n, (ms - started_ms) // 60_000, np.int64)
        ),
    }
    return Batch([stamped.get(c.name, c) for c in batch.columns])


def id_salt(clock: str) -> str:
    """What makes a live feed's identifiers its own: on the wall clock, the moment it starts
    (its events are of that moment, so two feeds never share an ``event_id``); on the
    simulated clock nothing (the same inputs, the same bytes)."""
    return f"wall:{time.time_ns()}" if clock == "wall" else ""


def check_clock(clock: str) -> None:
    if clock not in CLOCKS:
        raise ConfigError(f"--clock must be one of {', '.join(CLOCKS)}, got {clock!r}")


def clocked(batch: Batch, clock: str, started_ms: int) -> Batch:
    return on_the_wall_clock(batch, started_ms) if clock == "wall" else batch
