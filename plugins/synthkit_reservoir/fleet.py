"""The contract between the fleet engine and device-model plugins, and the shared helpers.

A device model's factory (``DeviceModel.factory``) is called as
``factory(devices, seed, step_seconds)`` with the scenario's devices of that model (and each
one's seconds between emissions), and returns a :class:`FleetModel`. The engine
then asks it for blocks of emissions, time-major: ``emit(block)`` fills one row per
(device, emission time) in ``block``, in time order, devices in their given order within the
same instant. State (levels, positions, batteries) carries over from block to block.

Every random number a model draws is keyed by (scenario seed, device id, emission time):
a device's data never depends on which other devices exist, and the same instant always
draws the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numba import njit

from synthkit.api import ModelFault, rand
from synthkit_reservoir import calibration

# the calibration formula for the models' kernels: the same functions, compiled inline
distance_nb = njit(inline="always", nogil=True, cache=True)(calibration.distance_from_level)


@dataclass(frozen=True)
class Block:
    """Emission ticks ``tick0 .. tick0+nticks-1`` of ``tick_s`` seconds from ``origin_s``;
    device ``d`` emits on ticks that are multiples of ``every[d]``. ``rows`` is the number of
    emissions in the block and ``row_device``/``row_tick`` say which they are, in order."""

    origin_s: int
    tick_s: int
    tick0: int
    nticks: int
    every: np.ndarray  # int64 per device
    row_device: np.ndarray  # int64 per row
    row_tick: np.ndarray  # int64 per row
    # the scenario's faults that act on this model, each with the rows it hits (bool per row)
    faults: tuple[tuple[ModelFault, np.ndarray], ...] = ()

    @property
    def rows(self) -> int:
        return int(self.row_device.shape[0])

    def row_times(self) -> np.ndarray:
        return self.origin_s + self.row_tick * self.tick_s


class FleetModel(Protocol):
    """What a device model's factory returns. ``emit`` returns the block's rows as named
    numpy columns (``raw_readings`` is (rows, max_samples) with -1 where a device sends fewer;
    a label column holds int codes into ``labels[column]``, -1 for none). How each column is
    written (its decimals) is the row layout's business, not the model's."""

    labels: dict[str, tuple[str, ...]]
    max_samples: int

    def emit(self, block: Block) -> dict[str, np.ndarray]: ...


def device_keys(seed: int, device_ids: Sequence[str]) -> np.ndarray:
    """One stable 64-bit key per device from (seed, device id); never Python's hash()."""
    return np.array(
        [rand.stable_key("synthkit.device", seed, d) for d in device_ids], dtype=np.uint64
    )


@njit(inline="always", nogil=True, cache=True)
def normal_nb(key: np.uint64, slot: int) -> float:
    """A standard normal from two counter-based uniforms (Box-Muller)."""
    u1 = max(rand.unit_nb(key, np.uint64(slot)), 1e-300)
    u2 = rand.unit_nb(key, np.uint64(slot + 1))
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@njit(inline="always", nogil=True, cache=True)
def civil_hour_dow(t: int) -> tuple[int, int]:
    """UTC hour of day and weekday (Monday = 0) of epoch second ``t``."""
    days = t // 86_400
    return (t - days * 86_400) // 3600, (days + 3) % 7  # 1970-01-01 was a Thursday


@njit(nogil=True, cache=True)
def sensor_fields(
    key: np.uint64,
    t: int,
    distance_mm: float,
    noise_mm: float,
    samples: int,
    temp_mean: float,
    temp_amp: float,
    signal_mean: float,
    signal_sd: float,
    raw_out: np.ndarray,  # int64 (rows, max samples); -1 where a device has fewer
    row: int,
) -> tuple[float, int]:
    """Raw ultrasonic readings (mm, integers) into ``raw_out[row]``; returns (temperature in
    tenths of a degree, signal dBm). Temperature follows the day (peak mid-afternoon)."""
    for i in range(raw_out.shape[1]):
        if i < samples:
            reading = distance_mm + noise_mm * normal_nb(key, 40 + 2 * i)
            raw_out[row, i] = max(0, int(round(reading)))
        else:
            raw_out[row, i] = -1
    day_frac = ((t % 86_400) / 86_400.0) - 15.0 / 24.0
    temp = temp_mean + temp_amp * math.cos(2.0 * math.pi * day_frac) + 0.3 * normal_nb(key, 80)
    signal = int(round(signal_mean + signal_sd * normal_nb(key, 82)))
    return round(temp * 10.0), min(-30, max(-130, signal))
