"""Faults for telematics fleets, from the ``faults:`` block of an options file: every generic
fault type (drops, repeats, late records, spikes in ``speed_mph``, GPS jumps...) and
``anomaly_burst``, a session of reckless driving for chosen drivers: inside its window the
event types it names are picked as if their weights were multiplied (``speeding: 6`` makes
speeding six times as likely, among the types eligible at that minute). Each event of a
burst is labelled. Drivers are chosen by id (``D0003``), region (``group``) or risk profile
(``archetype``: ``moderate``, or with ``--extreme-variance`` any profile)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit

from synthkit.api import ModelFault, unit_nb
from synthkit_telematics.burst_params import BurstParams
from synthkit_telematics.model import _S_TYPE, PROFILES, _eligible

if TYPE_CHECKING:
    from synthkit.api import FaultPlan, Plugins, YamlDocument

MODEL = "telematics_driver"


class AnomalyBurst(ModelFault):
    """The driver model re-picks its burst drivers' events in the window with these weights
    (:meth:`Bursts.apply`); the fault stage labels every event of the session."""

    model = MODEL
    params: BurstParams


@dataclass(frozen=True)
class _Named:
    name: str


@dataclass(frozen=True)
class _Driver:
    """A driver as the faults block selects it."""

    device_id: str
    group: str
    archetype: _Named


def compile_driver_faults(
    doc: YamlDocument,
    plugins: Plugins,
    seed: int,
    drivers: list[str],
    regions: list[str],
    profiles: list[str],
) -> FaultPlan:
    """The options file's ``faults:`` block for this fleet, every problem located (exit 2)."""
    from synthkit.api import Problems, compile_faults

    family = plugins.families()["telematics"]
    fleet = [_Driver(d, r, _Named(p)) for d, r, p in zip(drivers, regions, profiles)]
    problems = Problems(doc)
    plan = compile_faults(doc, problems, fleet, family=family, plugins=plugins, seed=seed)
    problems.raise_any()
    return plan


def driver_faults(generator: Any, plugins: Plugins) -> tuple[FaultPlan, Bursts]:
    """A generator's faults: its options file's block compiled against its drivers (their
    regions, risk profiles), and the anomaly bursts its driver model acts on."""
    world = generator.world
    context = generator.config.context
    plan = compile_driver_faults(
        context._doc,
        plugins,
        generator.config.seed,
        generator.driver_labels,
        [world.region_names[r] for r in world.region.tolist()],
        [PROFILES[p] for p in generator.profile.tolist()],
    )
    return plan, Bursts(plan, generator)


class Bursts:
    """The plan's anomaly bursts, applied where the generator picks event types."""

    def __init__(self, plan: FaultPlan, generator: Any) -> None:
        self.generator = generator
        drivers, type_names = generator.driver_labels, generator.type_names
        self.entries: list[tuple[Any, np.ndarray, np.ndarray]] = []
        unknown: set[str] = set()
        for f in plan.faults:
            if not isinstance(f.fault, AnomalyBurst):
                continue
            weights = f.fault.params.weights
            unknown |= set(weights) - set(type_names)
            boost = np.array([weights.get(t, 1.0) for t in type_names])
            member = np.array([d in f.streams for d in drivers], bool)
            self.entries.append((f.entry.window, member, boost))
        if unknown:
            from synthkit.api import ConfigError

            raise ConfigError(
                f"an anomaly_burst names unknown event type(s): {', '.join(sorted(unknown))}",
                hint=f"known event types: {', '.join(type_names)}",
            )

    def apply(
        self,
        drv: np.ndarray,
        ts_ms: np.ndarray,
        rowkey: np.ndarray,
        speed10: np.ndarray,
        hour: np.ndarray,
        posted: np.ndarray,
        weather: np.ndarray,
        etype: np.ndarray,
    ) -> None:
        """A batch's event types (``etype``, in place) picked again where a burst is on."""
        g = self.generator
        boost = self.boosts(drv, ts_ms, g.config.start.timestamp())
        if boost is None:
            return
        rows = np.flatnonzero((boost != 1.0).any(axis=1))
        repick(
            rows, boost[rows], drv, rowkey, speed10, hour, posted, weather, g.weights,
            g.world.weather_mult, g.min_speed, g.night_only, g.over_limit, etype,
        )  # fmt: skip

    def boosts(self, drv: np.ndarray, ts_ms: np.ndarray, run_start_s: float) -> np.ndarray | None:
        """Per row, the product of the multipliers of the bursts it is in (None: in none)."""
        out = None
        for window, member, boost in self.entries:
            hit = window.among(member[drv], ts_ms // 1000, run_start_s)
            if hit is None:
                continue
            if out is None:
                out = np.ones((len(drv), len(boost)))
            out[hit.rows] *= boost
        return out


@njit(nogil=True, cache=True)
def repick(
    rows: np.ndarray,  # int64: the rows an anomaly burst covers
    boost: np.ndarray,  # float (len(rows), types): their weight multipliers
    drv: np.ndarray,  # int64 per row: the driver (an index into weights)
    rowkey: np.ndarray,  # uint64 per row: the driven minute's key (its pick's draw)
    speed10: np.ndarray,  # int64 per row: speed in tenths of mph
    hour: np.ndarray,
    posted: np.ndarray,
    weather: np.ndarray,  # int64 per row
    weights: np.ndarray,
    weather_mult: np.ndarray,
    min_speed: np.ndarray,
    night_only: np.ndarray,
    over_limit: np.ndarray,
    out_type: np.ndarray,
) -> None:
    """Each covered row's event type picked again as :func:`drive` picked it (the same draw,
    the same eligibility) with its weights multiplied by ``boost``."""
    for i in range(rows.shape[0]):
        r = rows[i]
        d = drv[r]
        speed = speed10[r] / 10.0
        total = 0.0
        for t in range(min_speed.shape[0]):
            w = weights[d, t] * weather_mult[weather[r], t] * boost[i, t]
            if _eligible(w, speed, hour[r], posted[r], min_speed[t], night_only[t], over_limit[t]):
                total += w
        if total <= 0.0:
            continue
        pick = unit_nb(rowkey[r], np.uint64(_S_TYPE)) * total
        acc = 0.0
        for t in range(min_speed.shape[0]):
            w = weights[d, t] * weather_mult[weather[r], t] * boost[i, t]
            if not _eligible(
                w, speed, hour[r], posted[r], min_speed[t], night_only[t], over_limit[t]
            ):
                continue
            acc += w
            out_type[r] = t
            if pick < acc:
                break
