"""The ``smart_meter`` device model: a load profile drawn per interval, vectorised in numpy.

Every random number is keyed by (seed, meter id, interval number) through synthkit's
counter-based randomness, so a meter's readings never depend on the rest of the fleet or
on how the run is cut into batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from synthkit import hookimpl
from synthkit.api import DeviceModel, FieldSpec

if TYPE_CHECKING:  # numpy and pydantic load when a scenario needs the model, not at start-up
    from synthkit_energy_meter.params import MeterParams

COLUMNS = (
    FieldSpec("power_kw", "decimal", 3),
    FieldSpec("energy_kwh", "decimal", 3),
    FieldSpec("total_kwh", "decimal", 3),
    FieldSpec("voltage_v", "decimal", 1),
)


class MeterFleet:
    """Meters of one model; ``emit`` gives ``intervals`` rows per meter, interval-major."""

    def __init__(
        self, meter_ids: Sequence[str], params: Sequence[MeterParams], seed: int, interval_s: int
    ) -> None:
        import numpy as np

        from synthkit.api import rand

        self.keys = np.array(
            [rand.stable_key("energy_meter", seed, m) for m in meter_ids], np.uint64
        )
        self.interval_h = interval_s / 3600.0
        self.interval_s = interval_s
        self.base = np.array([p.base_kw for p in params])
        self.peak = np.array([p.peak_kw for p in params])
        self.weekend = np.array([p.weekend_factor for p in params])
        self.noise = np.array([p.noise for p in params])
        self.nominal = np.array([p.nominal_v for p in params])
        self.is_peak = np.zeros((len(params), 24), bool)
        for i, p in enumerate(params):
            self.is_peak[i, [h % 24 for h in p.peak_hours]] = True
        self.register = np.array([p.initial_kwh for p in params])  # carried from block to block

    def emit(self, first_interval: int, intervals: int, origin_s: int) -> dict[str, Any]:
        import numpy as np

        from synthkit.api import rand

        out: dict[str, list[Any]] = {c.name: [] for c in COLUMNS}
        meters = np.arange(len(self.keys))
        for k in range(first_interval, first_interval + intervals):
            t = origin_s + k * self.interval_s
            hour, weekday = (t // 3600) % 24, (t // 86_400 + 3) % 7  # 1970-01-01 was a Thursday
            keys = rand.words(self.keys, k)
            u1, u2, u3 = (rand.uniforms(keys, slot) for slot in (0, 1, 2))
            load = np.where(self.is_peak[meters, hour], self.peak, self.base)
            load = (
                load
                * (self.weekend if weekday >= 5 else 1.0)
                * (1.0 + self.noise * (2.0 * u1 - 1.0))
            )
            power = np.round(np.maximum(load, 0.0), 3)
            energy = np.round(power * self.interval_h, 3)
            self.register = np.round(self.register + energy, 3)
            normal = np.sqrt(-2.0 * np.log(np.maximum(u2, 1e-300))) * np.cos(2.0 * np.pi * u3)
            out["power_kw"].append(power)
            out["energy_kwh"].append(energy)
            out["total_kwh"].append(self.register.copy())
            out["voltage_v"].append(np.round(self.nominal + 1.5 * normal - 0.4 * power, 1))
        return {name: np.concatenate(parts) for name, parts in out.items()}


@hookimpl
def synthkit_register_device_models() -> list[DeviceModel]:
    from synthkit_energy_meter.params import MeterParams

    return [
        DeviceModel(
            name="smart_meter",
            mode="GRID",
            family="energy_meter",
            factory=MeterFleet,
            parameters=MeterParams,
            columns=COLUMNS,
            description="a metered supply: base and peak load by UTC hour, weekend factor, voltage sag under load",
        )
    ]
