"""Faults in the stationary tank's physics: a leak, a refill valve stuck shut, a battery that
drains until the device shuts down. A sensor fault changes what a record says; these change
what the tank does, so the rest of the run carries them: water a leak lost stays lost until a
refill replaces it, a valve stuck shut misses the refills due in its window, and a drained
battery takes its time to recharge. Labels name the records inside each window, where the
fault acts; records after it differ from a fault-free run until the state recovers."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from synthkit.api import Batch, Draws, Hit, ModelFault
from synthkit_reservoir.fleet import Block
from synthkit_reservoir.models.stationary.fault_params import BatteryDrainParams, LeakParams

MODEL = "stationary_tank"


class Leak(ModelFault):
    """A leak: ``liters_per_hour`` lost from the tank, unmetered (outflow does not show it;
    the level falls faster than the outflow explains)."""

    model = MODEL
    params: LeakParams


class StuckValve(ModelFault):
    """The refill valve stuck shut: supply events in the window deliver nothing."""

    model = MODEL


class BatteryDrain(ModelFault):
    """The electronics drain ``extra_pct_per_day`` more: the battery empties and the device
    shuts down (sends nothing: those records are labelled ``dropped``, their seqs used), and
    restarts once the sun recharges it to ``restart_pct``, or when the window closes."""

    model = MODEL
    params: BatteryDrainParams
    OFF: ClassVar[float] = -1.0  # what the model writes as the battery of a device that is off

    def apply(self, batch: Batch, hit: Hit, draws: Draws) -> tuple[Batch, np.ndarray]:
        off = hit.rows & (batch.column("battery_percentage").values == self.OFF)
        codes = hit.rows.astype(np.int8) + off.astype(np.int8)  # 1 changed, 2 dropped
        return (batch.take(np.flatnonzero(~off)) if off.any() else batch), codes


def physics(block: Block) -> tuple[np.ndarray, ...]:
    """Per row of ``block``: liters an hour leaking, whether the refill valve is stuck shut,
    the battery's extra drain in percent a day and the charge an emptied device restarts at
    (zeros when no fault acts)."""
    n = block.rows
    leak, shut, drain, restart = np.zeros(n), np.zeros(n, bool), np.zeros(n), np.zeros(n)
    for fault, rows in block.faults:
        if isinstance(fault, Leak):
            leak[rows] += fault.params.liters_per_hour
        elif isinstance(fault, StuckValve):
            shut |= rows
        elif isinstance(fault, BatteryDrain):
            drain[rows] += fault.params.extra_pct_per_day
            restart[rows] = fault.params.restart_pct
    return leak, shut, drain, restart
