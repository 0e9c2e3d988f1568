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


def on_the_wall_clock(
    batch: Batch, started_ms: int, due_ms: int | np.ndarray | None = None
) -> Batch:
    """``batch`` with every event's ``ts`` the moment it is due (``due_ms``: one for the batch
    or one per event; none: now), in milliseconds UTC, and its ``period_minute`` the minutes
    since the feed started at ``started_ms`` (0 first, as the original's stream). A paced
    feed stamps each event with when its schedule says it is sent, which is when it is sent
    while the feed keeps up: the same bytes again when a replay regenerates it."""
    ms = np.broadcast_to(np.asarray(now_ms() if due_ms is None else due_ms, np.int64), (batch.n,))
    if batch.n and (ms == ms[0]).all():  # one instant: formatted once
        text = (np.datetime_as_string(np.datetime64(int(ms[0]), "ms"), unit="ms") + "Z").encode()
        assert len(text) == _ISO_WIDTH, text
        iso = np.tile(np.frombuffer(text, np.uint8), (batch.n, 1))
    else:
        texts = np.char.add(np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms"), "Z")
        iso = np.frombuffer(texts.astype(f"S{_ISO_WIDTH}").tobytes(), np.uint8).reshape(
            -1, _ISO_WIDTH
        )
    stamped = {
        "ts": Column("ts", "fixed", iso, type="timestamp", epoch=np.array(ms, np.int64)),
        "period_minute": Column("period_minute", "int", (ms - started_ms) // 60_000),
    }
    return Batch([stamped.get(c.name, c) for c in batch.columns])


def id_salt(clock: str) -> str:
    """What makes a live feed's identifiers its own: on the wall clock, the moment it starts
    (its events are of that moment, so two feeds never share an ``event_id``); on the
    simulated clock nothing (the same inputs, the same bytes)."""
    return f"wall:{time.time_ns()}" if clock == "wall" else ""


def feed_stamps(clock: str, started_ms: int, every_ms: int, per: str) -> dict[str, object]:
    """How a live feed stamps its events, for its run record (what a replay stamps again):
    the generator's own times; or on the wall clock, the due instant of each ``per`` slot
    (``round``: a round of every driver; ``event``: one event) ``every_ms`` apart from
    ``started_ms``. A feed with no schedule (``every_ms`` 0) stamps the moment it sends,
    which nothing can make again."""
    if clock != "wall":
        return {"clock": "simulated"}
    if not every_ms:
        return {"clock": "wall-unpaced"}
    return {"clock": "wall", "started_ms": started_ms, "interval_ms": every_ms, "per": per}


def check_clock(clock: str) -> None:
    if clock not in CLOCKS:
        raise ConfigError(f"--clock must be one of {', '.join(CLOCKS)}, got {clock!r}")


def clocked(
    batch: Batch, clock: str, started_ms: int, due_ms: int | np.ndarray | None = None
) -> Batch:
    return on_the_wall_clock(batch, started_ms, due_ms) if clock == "wall" else batch
