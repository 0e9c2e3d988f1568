"""Parameters of the stationary tank model: what archetypes set and scenarios override."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from synthkit_reservoir.calibration import TankParams

Hourly = Annotated[tuple[float, ...], Field(min_length=24, max_length=24)]
Weekly = Annotated[tuple[float, ...], Field(min_length=7, max_length=7)]
# A day shape with morning and evening peaks; normalised to mean 1 by the model.
DEFAULT_HOURLY = (
    0.6,
    0.5,
    0.5,
    0.5,
    0.6,
    0.8,
    1.2,
    1.4,
    1.3,
    1.0,
    0.9,
    0.9,
    1.0,
    1.0,
    1.0,
    1.0,
    1.1,
    1.3,
    1.4,
    1.3,
    1.0,
    0.9,
    0.7,
    0.6,
)


class StationaryTankParams(TankParams):
    """A tank with an ultrasonic level sensor, drawn down by demand and topped up by supply
    events (network deliveries, pumping). Units: liters, millimetres, hours. The tank and
    calibration fields come from :class:`synthkit_reservoir.calibration.TankParams`."""

    initial_level_pct: float = Field(70.0, ge=0, le=100)
    # demand (section 7.1): target_daily_liters / 24, else demand_liters_per_hour
    demand_liters_per_hour: float = Field(30.0, gt=0)
    target_daily_liters: float | None = Field(None, gt=0)
    hourly_weights: Hourly = DEFAULT_HOURLY
    weekday_multipliers: Weekly = (1.0,) * 7
    demand_noise: float = Field(0.25, ge=0, le=2)  # relative spread of each step's demand
    # below low_level_pct users ration: demand falls linearly to low_level_demand_factor at 0
    low_level_pct: float = Field(15.0, ge=0, le=100)
    low_level_demand_factor: float = Field(0.6, ge=0, le=1)
    # supply events: a Poisson process scaled by the hourly/weekday multipliers
    supply_events_per_day: float = Field(2.0, ge=0)
    supply_liters_per_event: float = Field(500.0, gt=0)
    supply_volume_cv: float = Field(0.3, ge=0, le=3)
    hourly_probability_multipliers: Hourly = (1.0,) * 24
    hourly_volume_multipliers: Hourly = (1.0,) * 24
    weekday_probability_multipliers: Weekly = (1.0,) * 7
    # the sensor's own behaviour
    sensor_noise_mm: float = Field(3.0, ge=0)
    raw_samples: int = Field(5, ge=1, le=16)
    temperature_mean_c: float = Field(24.0, ge=-40, le=60)
    temperature_daily_amplitude_c: float = Field(6.0, ge=0, le=30)
    battery_start_pct: float = Field(95.0, ge=0, le=100)
    battery_drain_pct_per_day: float = Field(1.2, ge=0, le=100)
    battery_solar_pct_per_day: float = Field(1.0, ge=0, le=100)  # recharged in daylight
    signal_mean_dbm: float = Field(-78.0, ge=-130, le=-30)
    signal_sd_dbm: float = Field(4.0, ge=0, le=30)

    @model_validator(mode="after")
    def _checks(self) -> StationaryTankParams:
        if any(w <= 0 for w in self.hourly_weights) or any(
            w <= 0 for w in self.weekday_multipliers
        ):
            raise ValueError("hourly_weights and weekday_multipliers must all be > 0")
        multipliers = (
            *self.hourly_probability_multipliers,
            *self.hourly_volume_multipliers,
            *self.weekday_probability_multipliers,
        )
        if any(m < 0 for m in multipliers):
            raise ValueError("supply multipliers must all be >= 0")
        return self

    def base_liters_per_hour(self) -> float:
        """Section 7.1: ``target_daily_liters / 24``, or the fallback ``demand_liters_per_hour``."""
        if self.target_daily_liters is not None:
            return self.target_daily_liters / 24.0
        return self.demand_liters_per_hour
