"""When a fault applies: a faults block entry's ``window`` (absolute, relative to the run,
daily, every N days, or a mix: all given must hold), and durations as a scenario writes them
(``90s``, ``15m``, ``2h``, ``3d``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from synthkit.fault_params import duration_s


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Lazy = np.ndarray | Callable[[], np.ndarray]


class Hit:
    """The rows of a batch a fault hits (its devices, inside its window), how long its window
    had been open at each (seconds; what drift or a drain grows with), and each row's seq.

    ``rows``: bool per row. ``since_s``: float64 per row (meaningful where ``rows``);
    ``left_s``: float64 per row, until the window closes (inf: never); ``seq``: int64 per row
    (the family's seq column); ``time_s``: int64 per row, when each record was emitted;
    ``stream``: uint64 per row, a stable key of each record's stream. ``since_s``, ``left_s``
    and ``streams`` may be given as a function that makes them: most faults never ask, and
    a fault over a few devices would otherwise pay for whole-batch arrays."""

    __slots__ = ("rows", "seq", "time_s", "_since", "_left", "_streams")

    def __init__(
        self,
        rows: np.ndarray,
        since_s: Lazy,
        seq: np.ndarray | None = None,
        left_s: Lazy | None = None,
        time_s: np.ndarray | None = None,
        streams: Lazy | None = None,
    ) -> None:
        self.rows, self.seq, self.time_s = rows, seq, time_s
        self._since, self._left, self._streams = since_s, left_s, streams

    @property
    def since_s(self) -> np.ndarray:
        if callable(self._since):
            self._since = self._since()
        return self._since

    @property
    def left_s(self) -> np.ndarray | None:
        if callable(self._left):
            self._left = self._left()
        return self._left

    @property
    def stream(self) -> np.ndarray | None:
        """A stable key of each row's stream (its device), the same in every batch and run."""
        if callable(self._streams):
            self._streams = self._streams()
        return self._streams

    def with_rows_of(self, seq: np.ndarray, time_s: np.ndarray, streams: Lazy | None = None) -> Hit:
        """This hit with each row's seq, time and stream key (what the fault stage adds)."""
        return Hit(self.rows, self._since, seq, self._left, time_s, streams)


_DAILY = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class FaultWindow(_Strict):
    start: datetime | None = None  # absolute, UTC unless it says otherwise
    end: datetime | None = None
    after: float | None = Field(None, ge=0)  # seconds after the run's start
    for_: float | None = Field(None, gt=0, alias="for")
    daily: str | None = None  # "HH:MM-HH:MM" UTC; may wrap midnight
    every_days: int | None = Field(None, ge=1)

    _durations = field_validator("after", "for_", mode="before")(
        lambda v: None if v is None else duration_s(v)
    )

    @field_validator("daily")
    @classmethod
    def _daily(cls, value: str | None) -> str | None:
        if value is not None:
            m = _DAILY.match(value)
            if m is None or int(m[1]) > 24 or int(m[3]) > 24 or int(m[2]) > 59 or int(m[4]) > 59:
                raise ValueError(f"{value!r} is not a daily window (write HH:MM-HH:MM, UTC)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> FaultWindow:
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def among(self, member: np.ndarray, t_s: np.ndarray, run_start_s: float) -> Hit | None:
        """Which rows of a batch it hits, given which are its devices' (bool per row) and
        every row's time: the one rule the fault stage labels by and a model acts by."""
        return _among(self, member, t_s, run_start_s)

    def bounds(self, run_start_s: float) -> tuple[float, float]:
        """The absolute span it may hit in (epoch seconds), given when the run starts."""
        lo = max(_epoch(self.start, -np.inf), run_start_s + (self.after or 0.0))
        hi = _epoch(self.end, np.inf)
        if self.for_ is not None:
            hi = min(hi, run_start_s + (self.after or 0.0) + self.for_)
        return lo, hi

    def hit(self, t_s: np.ndarray, run_start_s: float) -> Hit:
        """Which of the instants ``t_s`` (epoch seconds) are inside, and since when."""
        lo, hi = self.bounds(run_start_s)
        t = t_s.astype(np.float64)
        opened = lo if np.isfinite(lo) else run_start_s

        def since() -> np.ndarray:
            return t - opened

        def left() -> np.ndarray:
            return hi - t

        if not (np.isfinite(lo) or np.isfinite(hi) or self.every_days or self.daily):
            return Hit(np.ones(len(t), bool), since, left_s=left)  # the whole run
        rows = (t >= lo) & (t < hi)
        if self.every_days is not None:
            rows &= (np.floor(t / 86_400) % self.every_days) == 0
        if self.daily is not None:
            m = _DAILY.match(self.daily)
            assert m is not None  # validated
            open_s, close_s = int(m[1]) * 3600 + int(m[2]) * 60, int(m[3]) * 3600 + int(m[4]) * 60
            clock = np.mod(t, 86_400)
            inside = (
                (clock >= open_s) & (clock < close_s)
                if open_s < close_s
                else (clock >= open_s) | (clock < close_s)
            )
            rows &= inside
            daily_since = np.mod(clock - open_s, 86_400)  # since today's window opened
            daily_left = np.minimum(hi - t, np.mod(close_s - clock, 86_400))
            return Hit(rows, daily_since, left_s=daily_left)
        return Hit(rows, since, left_s=left)  # the stage adds the seqs and times


def _among(
    window: FaultWindow, member: np.ndarray, t_s: np.ndarray, run_start_s: float
) -> Hit | None:
    """Which rows a fault hits: its devices' (``member``, bool per row) inside ``window``,
    with since/left for those; None when it hits none. The window is computed only for the
    member rows (most faults hit a few devices), and nothing gathered when all are members."""
    mine = np.flatnonzero(member)
    if not len(mine):
        return None
    n = len(member)
    if len(mine) == n:  # no gathering and scattering: the common heavy case
        hit = window.hit(t_s, run_start_s)
    else:
        inside = window.hit(t_s[mine], run_start_s)
        rows = np.zeros(n, bool)
        rows[mine[inside.rows]] = True

        def since() -> np.ndarray:
            out = np.zeros(n)
            out[mine] = inside.since_s
            return out

        def left() -> np.ndarray:
            out = np.full(n, np.inf)
            out[mine] = inside.left_s
            return out

        hit = Hit(rows, since, left_s=left)
    return hit if hit.rows.any() else None


def _epoch(when: datetime | None, default: float) -> float:
    if when is None:
        return default
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
