"""What each driver of a telematics fleet is, fixed for the run: risk profile, cruise speed,
home and event weights (:func:`drivers`), and car (:func:`cars`), each from the driver's own
random stream, so a driver is the same whatever fleet or shard it runs in."""

from __future__ import annotations

from typing import Any

import numpy as np

from synthkit_telematics import model
from synthkit_telematics.config import TelematicsConfig


def drivers(gen: Any, config: TelematicsConfig, u: list[np.ndarray], base_w: np.ndarray) -> None:
    """Each driver's risk profile, cruise speed, home and event weights."""
    n = config.drivers
    if config.extreme_variance:
        gen.profile = np.searchsorted(np.cumsum(model.PROFILE_WEIGHTS), u[0], side="right")
        gen.profile = np.minimum(gen.profile, len(model.PROFILES) - 1)
    else:
        gen.profile = np.full(n, model.MODERATE, np.int64)
    gen.cruise = model.PROFILE_CRUISE[gen.profile] * (0.97 + 0.06 * u[1])
    gen.intensity = model.PROFILE_INTENSITY[gen.profile] if config.extreme_variance else np.ones(n)
    gen.home_lat = gen.world.base_lat + (u[2] - 0.5) * config.jitter_deg
    gen.home_lon = gen.world.base_lon + (u[3] - 0.5) * config.jitter_deg
    mult = np.ones((n, len(gen.types)))
    if config.extreme_variance:
        for t, et in enumerate(gen.types):
            table = np.array([et.risk_multipliers.get(p, 1.0) for p in model.PROFILES])
            mult[:, t] = table[gen.profile]
    gen.weights = mult * base_w


def cars(gen: Any, u: list[np.ndarray]) -> None:
    """Each driver's car: type, value and sportiness (static for the run)."""
    shares = np.cumsum([c[1] for c in model.CAR_TYPES])
    car = np.minimum(np.searchsorted(shares, u[4] * shares[-1], side="right"), len(shares) - 1)
    base_value = np.array([c[2] for c in model.CAR_TYPES])[car]
    gen.car_type = car
    gen.car_value = (base_value * (0.85 + 0.40 * u[5])).astype(np.int64)
    sport = np.array([c[3] for c in model.CAR_TYPES])[car] + (u[6] - 0.5) * 0.1
    gen.car_sportiness = np.round(np.clip(sport, 0.0, 1.0), 3)
    gen.car_type_labels = tuple(model.CAR_TYPES[c][0] for c in car.tolist())
    gen.car_value_labels = tuple(gen.car_value.tolist())
    gen.car_sportiness_labels = tuple(gen.car_sportiness.tolist())
