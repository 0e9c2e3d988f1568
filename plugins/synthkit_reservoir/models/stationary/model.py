"""The stationary tank: demand draws it down, supply events top it up, a sensor reports.

Per emission of device d at UTC time t, with ``h`` its step in hours (section 7.1):

    demand = base_lph * weights_norm[hour] * weekday_multipliers[dow] * h * (1 + noise * N)
    (rationed below low_level_pct: x low_level_demand_factor at empty, linear in between)
    supply event with probability 1 - exp(-events_per_day/24 * p_hour[hour] * p_wday[dow] * h),
    volume = liters_per_event * v_hour[hour] * lognormal(cv)
    liters = clamp(liters - served + inflow, 0, capacity)

then liters -> level_pct -> distance through the calibration, and raw readings with noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit

from synthkit.api import unit_nb, word_nb
from synthkit_reservoir.fleet import (
    Block,
    civil_hour_dow,
    device_keys,
    distance_nb,
    normal_nb,
    sensor_fields,
)
from synthkit_reservoir.models.stationary.faults import BatteryDrain, physics
from synthkit_reservoir.models.stationary.params import StationaryTankParams

# per-device float parameters, one column each
(
    _CAP,
    _EMPTY,
    _FULL,
    _BASE_LPH,
    _NOISE,
    _LOW,
    _LOW_F,
    _EVENTS,
    _EVENT_L,
    _CV,
    _SNOISE,
    _T_MEAN,
    _T_AMP,
    _DRAIN,
    _SOLAR,
    _SIG_MEAN,
    _SIG_SD,
    _STEP_S,
) = range(18)
_NPARAM = 18

COLUMNS = (
    "liters",
    "level_pct",
    "inflow_liters",
    "outflow_liters",
    "distance_mm",
    "temperature_c",
    "battery_percentage",
    "signal_strength_dbm",
)


@njit(nogil=True, cache=True)
def _run(
    origin_s: int,
    tick_s: int,
    row_device: np.ndarray,
    row_tick: np.ndarray,
    keys: np.ndarray,
    p: np.ndarray,
    hourly: np.ndarray,
    weekday: np.ndarray,
    prob_h: np.ndarray,
    vol_h: np.ndarray,
    prob_w: np.ndarray,
    samples: np.ndarray,
    state: np.ndarray,
    liters_out: np.ndarray,
    level_out: np.ndarray,
    inflow_out: np.ndarray,
    outflow_out: np.ndarray,
    distance_out: np.ndarray,
    temp_out: np.ndarray,
    battery_out: np.ndarray,
    signal_out: np.ndarray,
    raw_out: np.ndarray,
    leak_lph: np.ndarray,  # per row: the faults' physics (models/stationary/faults.py)
    valve_shut: np.ndarray,
    extra_drain: np.ndarray,
    restart_pct: np.ndarray,
    off_marker: float,
) -> None:
    for r in range(row_device.shape[0]):
        d = row_device[r]
        t = origin_s + row_tick[r] * tick_s
        key = word_nb(keys[d], np.uint64(t))
        hour, dow = civil_hour_dow(t)
        step_h = p[d, _STEP_S] / 3600.0
        cap = p[d, _CAP]
        liters = state[d, 0]
        level = liters / cap * 100.0
        demand = p[d, _BASE_LPH] * hourly[d, hour] * weekday[d, dow] * step_h
        demand *= max(0.0, 1.0 + p[d, _NOISE] * normal_nb(key, 0))
        if level < p[d, _LOW] and p[d, _LOW] > 0:
            demand *= p[d, _LOW_F] + (1.0 - p[d, _LOW_F]) * level / p[d, _LOW]
        served = min(demand, liters)
        liters -= served
        if leak_lph[r] > 0.0:  # unmetered: the level falls, the outflow does not show it
            liters -= min(leak_lph[r] * step_h, liters)
        rate = p[d, _EVENTS] / 24.0 * prob_h[d, hour] * prob_w[d, dow]
        inflow = 0.0
        if valve_shut[r]:
            pass  # a refill due now delivers nothing
        elif unit_nb(key, np.uint64(2)) < 1.0 - math.exp(-rate * step_h):
            sigma = math.sqrt(math.log(1.0 + p[d, _CV] * p[d, _CV]))
            volume = (
                p[d, _EVENT_L]
                * vol_h[d, hour]
                * math.exp(sigma * normal_nb(key, 4) - 0.5 * sigma * sigma)
            )
            inflow = min(volume, cap - liters)
        liters = min(cap, max(0.0, liters + inflow))
        state[d, 0] = liters
        level = liters / cap * 100.0
        # battery: a solar panel charges it in daylight (06:00-18:00 UTC), electronics drain it
        solar = p[d, _SOLAR] * 2.0 if 6 <= hour < 18 else 0.0
        off = state[d, 2] > 0.0
        if off:  # shut down by a draining fault: nothing drains, the sun charges
            battery = min(100.0, state[d, 1] + solar * step_h / 24.0)
            off = extra_drain[r] > 0.0 and battery < restart_pct[r]
            if not off:
                battery = max(1.0, battery)
        elif extra_drain[r] > 0.0:  # a draining fault: it may empty, and the device stops
            battery = state[d, 1] + (solar - p[d, _DRAIN] - extra_drain[r]) * step_h / 24.0
            battery = min(100.0, max(0.0, battery))
            off = battery <= 0.0
        else:
            battery = state[d, 1] + (solar - p[d, _DRAIN]) * step_h / 24.0
            battery = min(100.0, max(1.0, battery))
        state[d, 1] = battery
        state[d, 2] = 1.0 if off else 0.0
        distance = distance_nb(p[d, _EMPTY], p[d, _FULL], level)
        temp10, signal = sensor_fields(
            key,
            t,
            distance,
            p[d, _SNOISE],
            samples[d],
            p[d, _T_MEAN],
            p[d, _T_AMP],
            p[d, _SIG_MEAN],
            p[d, _SIG_SD],
            raw_out,
            r,
        )
        liters_out[r] = liters
        level_out[r] = level
        inflow_out[r] = inflow
        outflow_out[r] = served
        distance_out[r] = distance
        temp_out[r] = temp10 / 10.0
        battery_out[r] = off_marker if off else battery  # the fault stage drops those
        signal_out[r] = signal


class StationaryFleet:
    """The ``stationary_tank`` model for a set of devices (see :mod:`synthkit_reservoir.fleet`)."""

    labels: dict[str, tuple[str, ...]] = {}

    def __init__(self, devices: Sequence, seed: int, step_seconds: Sequence[int]) -> None:
        n = len(devices)
        self.keys = device_keys(seed, [d.device_id for d in devices])
        self.p = np.zeros((n, _NPARAM))
        self.hourly = np.ones((n, 24))
        self.weekday = np.ones((n, 7))
        self.prob_h, self.vol_h, self.prob_w = np.ones((n, 24)), np.ones((n, 24)), np.ones((n, 7))
        self.samples = np.zeros(n, np.int64)
        self.state = np.zeros((n, 3))  # liters, battery %, off (shut down by a fault)
        for i, dev in enumerate(devices):
            prm = _effective(dev)
            cal = prm.calibration()
            row = self.p[i]
            row[_CAP], row[_EMPTY], row[_FULL] = cal.capacity_liters, cal.empty_mm, cal.full_mm
            row[_BASE_LPH], row[_NOISE] = prm.base_liters_per_hour(), prm.demand_noise
            row[_LOW], row[_LOW_F] = prm.low_level_pct, prm.low_level_demand_factor
            row[_EVENTS], row[_EVENT_L] = prm.supply_events_per_day, prm.supply_liters_per_event
            row[_CV], row[_SNOISE] = prm.supply_volume_cv, prm.sensor_noise_mm
            row[_T_MEAN], row[_T_AMP] = prm.temperature_mean_c, prm.temperature_daily_amplitude_c
            row[_DRAIN], row[_SOLAR] = prm.battery_drain_pct_per_day, prm.battery_solar_pct_per_day
            row[_SIG_MEAN], row[_SIG_SD] = prm.signal_mean_dbm, prm.signal_sd_dbm
            row[_STEP_S] = step_seconds[i]
            w = np.array(prm.hourly_weights)
            self.hourly[i] = w * (24.0 / w.sum())  # section 7.1: weights normalised to mean 1
            self.weekday[i] = prm.weekday_multipliers
            self.prob_h[i] = prm.hourly_probability_multipliers
            self.vol_h[i] = prm.hourly_volume_multipliers
            self.prob_w[i] = prm.weekday_probability_multipliers
            self.samples[i] = prm.raw_samples
            self.state[i] = (
                cal.liters_from_level_pct(prm.initial_level_pct),
                prm.battery_start_pct,
                0.0,
            )
        self.max_samples = int(self.samples.max()) if n else 1

    def emit(self, block: Block) -> dict[str, np.ndarray]:
        n = block.rows
        out: dict[str, np.ndarray] = {name: np.empty(n) for name in COLUMNS}
        out["signal_strength_dbm"] = np.empty(n, np.int64)
        raw = np.empty((n, self.max_samples), np.int64)
        _run(
            block.origin_s,
            block.tick_s,
            block.row_device,
            block.row_tick,
            self.keys,
            self.p,
            self.hourly,
            self.weekday,
            self.prob_h,
            self.vol_h,
            self.prob_w,
            self.samples,
            self.state,
            out["liters"],
            out["level_pct"],
            out["inflow_liters"],
            out["outflow_liters"],
            out["distance_mm"],
            out["temperature_c"],
            out["battery_percentage"],
            out["signal_strength_dbm"],
            raw,
            *physics(block),
            BatteryDrain.OFF,
        )
        out["raw_readings"] = raw
        return out


def _effective(device) -> StationaryTankParams:
    """The device's parameters with its scenario ``dynamics`` block applied on top."""
    prm: StationaryTankParams = device.params
    dyn = device.dynamics
    if dyn is None:
        return prm
    update: dict[str, object] = {}
    if dyn.demand is not None:
        for name in ("target_daily_liters", "hourly_weights", "weekday_multipliers"):
            value = getattr(dyn.demand, name)
            if value is not None:
                update[name] = value
    if dyn.supply is not None:
        for name in (
            "hourly_probability_multipliers",
            "hourly_volume_multipliers",
            "weekday_probability_multipliers",
        ):
            value = getattr(dyn.supply, name)
            if value is not None:
                update[name] = value
    return prm.model_copy(update=update) if update else prm
