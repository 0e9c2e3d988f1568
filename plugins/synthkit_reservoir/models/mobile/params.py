"""Parameters of the mobile truck model: what archetypes set and scenarios override."""

from __future__ import annotations

from pydantic import Field

from synthkit_reservoir.calibration import TankParams


class MobileTruckParams(TankParams):
    """A water truck with a tank-level sensor and GPS, moving between its route's points:
    filling at REFILL, delivering at CLIENT, waiting at BASE, losing water in transit.
    Units: liters, millimetres, km, minutes. The tank and calibration fields come from
    :class:`synthkit_reservoir.calibration.TankParams`."""

    capacity_liters: float = Field(10_000.0, gt=0)
    height_mm: float | None = Field(1500.0, gt=0)
    # driving
    speed_kmh: float = Field(30.0, gt=0, le=150)
    speed_cv: float = Field(0.2, ge=0, le=1)  # spread of a leg's average speed
    road_factor: float = Field(1.3, ge=1, le=3)  # road km per straight-line km
    # stops
    dwell_minutes_base: float = Field(45.0, gt=0)
    dwell_minutes_refill: float = Field(20.0, gt=0)
    dwell_minutes_client: float = Field(15.0, gt=0)
    refill_to_pct: float = Field(95.0, gt=0, le=100)
    delivery_liters: float = Field(1500.0, gt=0)
    delivery_cv: float = Field(0.3, ge=0, le=3)
    nonproductive_stop_prob: float = Field(0.05, ge=0, le=1)  # a CLIENT stop with no delivery
    return_to_refill_pct: float = Field(15.0, ge=0, le=100)  # below this, head to REFILL
    # losses while moving (leaks, spillage): non-revenue water
    transit_loss_pct_per_km: float = Field(0.05, ge=0, le=10)
    # the sensor's own behaviour (sloshing makes a moving truck's readings noisier)
    sensor_noise_mm: float = Field(4.0, ge=0)
    slosh_noise_mm: float = Field(12.0, ge=0)
    raw_samples: int = Field(5, ge=1, le=16)
    temperature_mean_c: float = Field(26.0, ge=-40, le=60)
    temperature_daily_amplitude_c: float = Field(7.0, ge=0, le=30)
    battery_start_pct: float = Field(98.0, ge=0, le=100)
    battery_drain_pct_per_day: float = Field(2.0, ge=0, le=100)
    battery_charge_pct_per_hour_moving: float = Field(4.0, ge=0, le=100)  # alternator
    signal_mean_dbm: float = Field(-82.0, ge=-130, le=-30)
    signal_sd_dbm: float = Field(6.0, ge=0, le=30)
    gps_noise_m: float = Field(5.0, ge=0, le=500)
