"""The ``reefer_unit`` device model: a refrigerated box under a thermostat, vectorised in numpy.

Each tick the box gains heat from the ambient air (a daily swing) and from an open door, and
the compressor, switched by the thermostat's band around the setpoint, takes it away; the
sensor reads the box temperature with a little noise. The box temperature and the compressor
carry from tick to tick; every random number is keyed by (seed, unit id, tick) through
synthkit's counter-based randomness, so a unit never depends on the rest of the fleet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synthkit import hookimpl
from synthkit.api import DeviceModel, FieldSpec

COLUMNS = (
    FieldSpec("temperature_c", "decimal", 2),
    FieldSpec("setpoint_c", "decimal", 1),
    FieldSpec("ambient_c", "decimal", 1),
    FieldSpec("compressor_on", "int"),
    FieldSpec("door_open", "int"),
)


class ReeferParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    setpoint_c: float = Field(-18.0, ge=-40, le=20)
    band_c: float = Field(1.0, gt=0, le=10)  # the thermostat switches at setpoint +- band
    cooling_c_per_h: float = Field(12.0, gt=0, le=100)  # what a running compressor takes away
    leak_per_h: float = Field(0.05, ge=0, le=1)  # share of the box-ambient gap gained an hour
    door_opens_per_h: float = Field(0.5, ge=0, le=60)
    door_heat_c: float = Field(2.0, ge=0, le=30)  # gained each tick the door is open
    ambient_c: float = Field(20.0, ge=-40, le=50)
    ambient_swing_c: float = Field(6.0, ge=0, le=30)  # peak at 15:00 UTC
    noise_c: float = Field(0.05, ge=0, le=2)


class ReeferUnits:
    """Units of one model; ``emit`` gives ``n`` ticks of every unit, tick-major."""

    def __init__(
        self, unit_ids: Sequence[str], params: Sequence[ReeferParams], seed: int, interval_s: int
    ) -> None:
        import numpy as np

        from synthkit.api import rand

        self.keys = np.array([rand.stable_key("coldchain", seed, u) for u in unit_ids], np.uint64)
        self.interval_s, self.hours = interval_s, interval_s / 3600.0
        p = {
            name: np.array([getattr(x, name) for x in params]) for name in ReeferParams.model_fields
        }
        self.p = p
        self.temp = p["setpoint_c"].astype(float)  # carried from tick to tick
        self.running = np.zeros(len(unit_ids), bool)

    def emit(self, k0: int, n: int, origin_s: int) -> dict[str, Any]:
        import numpy as np

        from synthkit.api import rand

        p = self.p
        out: dict[str, list[Any]] = {c.name: [] for c in COLUMNS}
        for k in range(k0, k0 + n):
            hour = ((origin_s + k * self.interval_s) % 86_400) / 3600.0
            ambient = p["ambient_c"] + p["ambient_swing_c"] * np.cos((hour - 15.0) / 24 * 2 * np.pi)
            words = rand.words(self.keys, k)
            door = rand.uniforms(words, 0) < p["door_opens_per_h"] * self.hours
            self.temp = self.temp + (ambient - self.temp) * p["leak_per_h"] * self.hours
            self.temp = self.temp + door * p["door_heat_c"]
            self.running = np.where(
                self.temp > p["setpoint_c"] + p["band_c"],
                True,
                np.where(self.temp < p["setpoint_c"] - p["band_c"], False, self.running),
            )
            self.temp = self.temp - self.running * p["cooling_c_per_h"] * self.hours
            noise = (rand.uniforms(words, 1) * 2 - 1) * p["noise_c"]
            out["temperature_c"].append(np.round(self.temp + noise, 2))
            out["setpoint_c"].append(p["setpoint_c"])
            out["ambient_c"].append(np.round(ambient, 1))
            out["compressor_on"].append(self.running.astype(np.int64))
            out["door_open"].append(door.astype(np.int64))
        return {name: np.concatenate(parts) for name, parts in out.items()}


@hookimpl
def synthkit_register_device_models() -> list[DeviceModel]:
    return [
        DeviceModel(
            name="reefer_unit",
            mode="REEFER",
            family="coldchain",
            factory=ReeferUnits,
            parameters=ReeferParams,
            columns=COLUMNS,
            description="a refrigerated box: ambient and door heat in, a thermostat-switched compressor out",
        )
    ]
