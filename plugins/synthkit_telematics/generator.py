"""Telematics batches: the driver model plus every registered event type, as columns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from synthkit.api import (
    LAST_ISO_MS,
    Batch,
    Column,
    ConfigError,
    EventType,
    rand,
)
from synthkit_telematics import model
from synthkit_telematics.config import (
    TelematicsConfig,
    run_identity,
)
from synthkit_telematics.context import World
from synthkit_telematics.driver_setup import cars, drivers
from synthkit_telematics.fields import (
    BASE_FIELDS,
    TypeColumns,
    eligibility,
    probe_fields,
)

BATCH_ROWS = 65_536  # rows per batch: large enough to amortise, small enough to stay flat


def driver_labels(drivers: int) -> list[str]:
    """The drivers' ids: ``D0000``, ``D0001``... (wider past 10,000 drivers)."""
    width = max(4, len(str(drivers - 1)))
    return [f"D{d:0{width}d}" for d in range(drivers)]


class TelematicsGenerator:
    """Yields batches of events; ``columns`` is the CSV header (the union of all fields)."""

    # each driver's, set by driver_setup: fixed for the run
    profile: np.ndarray
    cruise: np.ndarray
    intensity: np.ndarray
    home_lat: np.ndarray
    home_lon: np.ndarray
    weights: np.ndarray
    car_type: np.ndarray
    car_value: np.ndarray
    car_sportiness: np.ndarray
    car_type_labels: tuple[str, ...]
    car_value_labels: tuple[int, ...]
    car_sportiness_labels: tuple[float, ...]

    def __init__(
        self,
        config: TelematicsConfig,
        event_types: Mapping[str, EventType],
        *,
        id_salt: str = "",
        plugins: Any = None,
        seq: bool = True,
        first_seq: Any = None,
        fleet: Any = None,
    ):
        """``seq``: a ``seq`` column after ``driver_id``, each driver's event number counted
        from ``first_seq`` (per driver; none: 0), what stores dedupe and reconcile count by
        (the drop-in leaves it out, as the original did, unless asked). ``plugins``: the
        fault types an options file's ``faults:`` block may name (a run with faults gets
        ``faults``, its plan, and always the ``seq`` column: their labels key on it)."""
        self.config = config
        base_w = self._event_types(config, event_types)
        self.base_weights = base_w  # each event type's weight before driver profiles
        n = config.drivers
        self.run_key = rand.stable_key("synthkit.telematics", config.seed)
        self.driver_index = np.arange(n, dtype=np.int64)
        keys = rand.words(np.full(n, self.run_key, np.uint64), 0) ^ self.driver_index.astype(
            np.uint64
        )
        self.driver_key = rand.words(keys, 1)
        u = [rand.uniforms(self.driver_key, 100 + i) for i in range(8)]
        base = (config.base_lat, config.base_lon, config.utc_offset_hours)
        self.world = World(config.context, self.type_names, config.seed, base, u[7])
        self.columns: tuple[str, ...] = (*self.layout, *self.world.columns)
        drivers(self, config, u, base_w)
        cars(self, u)
        self.driver_labels = driver_labels(n)
        # the drivers this generator drives (a shard's, ascending), or all: each driver's
        # events are the whole fleet's run's, whichever others run beside it
        self.fleet = None if fleet is None else np.unique(np.asarray(fleet, np.int64))
        m = n if self.fleet is None else len(self.fleet)
        self.state_i = np.zeros((m, model.STATE_I), np.int64)
        self.state_i[:, 0] = -1
        self.state_f = np.zeros((m, model.STATE_F), np.float64)
        self._driver_codes: dict[tuple[int, int, int], np.ndarray] = {}
        self.start_min = int(config.start.timestamp() // 60)
        self.start_ms_offset = int(config.start.timestamp() * 1000) - self.start_min * 60_000
        self.id_key = np.uint64(
            run_identity(config, dict(zip(self.type_names, base_w.tolist())), id_salt)
        )
        self.counts = dict.fromkeys(self.type_names, 0)
        self.rounds = 0  # every driver's events so far: the next event's seq
        self.faults: Any = None  # the options file's faults block, compiled (None: none)
        self.bursts: Any = None
        if config.context is not None and config.context.faults is not None:
            from synthkit_telematics.anomalies import driver_faults

            self.faults, self.bursts = driver_faults(self, plugins)
        self.first_seq = (
            np.zeros(n, np.int64) if first_seq is None else np.array(first_seq, np.int64)
        )
        self.with_seq = seq or self.faults is not None
        if self.with_seq:
            self.columns = (*self.columns[:2], "seq", *self.columns[2:])  # after driver_id

    def _event_types(
        self, config: TelematicsConfig, event_types: Mapping[str, EventType]
    ) -> np.ndarray:
        """The event types, their fields and columns, and their base weights (checked)."""
        unknown = sorted(set(config.weights) - set(event_types))
        if unknown:
            raise ConfigError(
                f"weights name unknown event type(s): {', '.join(unknown)}",
                hint=f"known event types: {', '.join(sorted(event_types))}",
            )
        self.types = list(event_types.values())
        self.type_names = [et.name for et in self.types]
        base_w = np.array([config.weights.get(et.name, et.weight) for et in self.types], float)
        if not self.types or base_w.sum() <= 0:
            raise ConfigError(
                "every event type has weight 0", hint="give at least one a weight > 0"
            )
        self.fields = {
            et.name: et.fields or (probe_fields(et) if et.attributes else ()) for et in self.types
        }
        self.type_columns = TypeColumns(self.types, self.fields)
        self.layout = BASE_FIELDS + tuple(f.name for f in self.type_columns.order)
        if config.extreme_variance:
            self.layout += ("driver_profile",)
        when = [eligibility(et) for et in self.types]
        self.min_speed = np.array([w["min_speed_mph"] for w in when], float)
        self.night_only = np.array([w["night_only"] for w in when], np.bool_)
        self.over_limit = np.array(
            [np.nan if w["over_limit_mph"] is None else w["over_limit_mph"] for w in when]
        )
        return base_w

    def batches(self, events: int | None, batch_rows: int = BATCH_ROWS) -> Iterator[Batch]:
        """``events`` rows in order (None: without end), about ``batch_rows`` at a time.

        Batches hold whole rounds (one event per driver), so batch size never changes the
        data; a fleet larger than ``batch_rows`` is cut into slices of drivers within a round,
        so memory stays flat however many drivers there are.
        """
        if self.fleet is not None:
            from synthkit_telematics.fleet_shard import shard_batches

            yield from shard_batches(self, events, batch_rows)
            return
        n = self.config.drivers
        produced = 0
        while events is None or produced < events:
            left = None if events is None else events - produced
            if n > batch_rows:
                parts = [(1, d0, min(n, d0 + batch_rows)) for d0 in range(0, n, batch_rows)]
            else:
                k = max(1, batch_rows // n)
                if left is not None and left < k * n:
                    k = -(-left // n)  # the last batch: cut the final round short
                parts = [(k, 0, n)]
            for k, d0, d1 in parts:
                batch = self._round(k, d0, d1, self.rounds)
                if left is not None and batch.n >= left:
                    batch = batch.slice(0, left)
                self._count(batch)
                produced += batch.n
                if d1 == n:  # the round (or rounds) done for every driver
                    self.rounds += k
                yield batch
                if left is not None:
                    left -= batch.n
                    if left <= 0:
                        return

    def _count(self, batch: Batch) -> None:
        codes = np.bincount(batch.column("event_type").values, minlength=len(self.types))
        for name, c in zip(self.type_names, codes):
            self.counts[name] += int(c)

    # ------------------------------------------------------------------------ internals

    def _round(self, k: int, d0: int, d1: int, first_round: int = 0) -> Batch:
        """``k`` events for drivers ``d0..d1-1``, rows laid out (event, driver)."""
        n = d1 - d0
        rows = k * n
        i8 = lambda: np.empty(rows, np.int64)  # noqa: E731
        ts, period, lat, lon, speed = i8(), i8(), i8(), i8(), i8()
        heading, posted, hour, etype = i8(), i8(), i8(), i8()
        rowkey = np.empty(rows, np.uint64)
        ids = np.empty((rows, 32), np.uint8)
        trips = np.empty((rows, 18), np.uint8)
        iso = np.empty((rows, 24), np.uint8)
        weather = np.zeros(rows, np.int64)
        c, w = self.config, self.world
        sl = slice(d0, d1)  # row slices of the state arrays are views: the kernel updates them
        # the drivers' own arrays: a slice of the fleet's, or a shard's drivers gathered
        of: Any = sl if self.fleet is None else self.fleet[sl]
        stuck = model.drive(
            k,
            self.driver_index[of],
            self.driver_key[of],
            self.id_key,
            self.cruise[of],
            self.home_lat[of],
            self.home_lon[of],
            self.weights[of],
            self.min_speed,
            self.night_only,
            self.over_limit,
            self.start_min,
            w.utc_offset_min[of],
            w.weather_keys[of],
            w.weather_cdf,
            w.weather_speed,
            w.weather_mult,
            w.traffic_speed if w.context.traffic else np.ones(0),
            c.jitter_deg,
            c.trip_avg_minutes,
            c.trip_std_minutes,
            c.gap_avg_minutes,
            self.state_i[sl],
            self.state_f[sl],
            ts,
            period,
            lat,
            lon,
            speed,
            heading,
            posted,
            hour,
            etype,
            rowkey,
            ids,
            trips,
            iso,
            weather,
        )
        if (
            rows and int(ts.max()) > LAST_ISO_MS
        ):  # the simulated clock ran past what ISO years can write
            raise ConfigError(
                f"the simulated clock passed 9999-12-31 after {self.config.start:%Y-%m-%d}",
                hint="give an earlier --start, or fewer events",
            )
        if stuck >= 0:
            raise ConfigError(
                f"driver {self.driver_labels[int(self.driver_index[of][stuck])]} found no eligible event type in "
                f"{model.MAX_IDLE_MINUTES} driving minutes",
                hint="give 'ping' (or another always-eligible type) a weight > 0",
            )
        drv = self._driver_codes.get((k, d0, d1))
        if drv is None:  # the same for every full batch: build once
            drv = np.tile(self.driver_index[of], k)
            self._driver_codes[(k, d0, d1)] = drv
        if self.bursts is not None:  # event types picked again where a burst is on
            self.bursts.apply(drv, ts, rowkey, speed, hour, posted, weather, etype)
        cols = [
            Column("event_id", "fixed", ids),
            Column("driver_id", "label", drv, labels=self.driver_labels),
            Column("trip_id", "fixed", trips),
            Column("ts", "fixed", iso, type="timestamp", epoch=ts),
            Column("event_type", "label", etype, labels=self.type_names),
            Column("latitude", "decimal", lat, decimals=6, scaled=True),
            Column("longitude", "decimal", lon, decimals=6, scaled=True),
            Column("speed_mph", "decimal", speed, decimals=1, scaled=True),
            Column("heading_deg", "int", heading),
            Column("period_minute", "int", period),
            # static per driver: labels indexed by driver, no per-row gather
            Column("car_type", "label", drv, labels=self.car_type_labels),
            Column("car_value", "label", drv, labels=self.car_value_labels),
            Column("car_sportiness", "label", drv, labels=self.car_sportiness_labels),
        ]
        if self.with_seq:  # each driver's event number: what stores and labels key on
            seq = self.first_seq[drv] + first_round + np.repeat(np.arange(k, dtype=np.int64), n)
            cols.insert(2, Column("seq", "int", seq))
        cols += self.type_columns.columns(etype, rowkey, speed, posted, hour, self.intensity, drv)
        if self.config.extreme_variance:
            cols.append(Column("driver_profile", "label", self.profile[drv], labels=model.PROFILES))
        cols += self.world.fields(drv, weather, hour)
        return Batch(cols)
