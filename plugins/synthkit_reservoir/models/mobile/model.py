"""The mobile truck: dwells at route points, drives legs between them, reports GPS and level.

Between two emissions the truck's time is spent, in order, on its current activity: dwelling
(BASE, REFILL or CLIENT) or driving a leg. Arriving at REFILL fills the tank to
``refill_to_pct``; at CLIENT it delivers about ``delivery_liters`` (nothing on a
non-productive stop); every driven km loses ``transit_loss_pct_per_km`` of the load
(non-revenue water). After a dwell the next stop's kind follows the route's transition
probabilities (or BASE->REFILL->CLIENT, then CLIENT 0.6 / REFILL 0.3 / BASE 0.1), and a truck
below ``return_to_refill_pct`` heads to REFILL. Randomness is keyed by (device, decision
number), so a truck's day is a pure function of its history.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit

from synthkit.api import unit_nb, word_nb
from synthkit_reservoir.fleet import Block, device_keys, distance_nb, normal_nb, sensor_fields
from synthkit_reservoir.models.mobile.params import MobileTruckParams

KINDS = ("BASE", "REFILL", "CLIENT")
_DEFAULT_TRANSITIONS = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.1, 0.3, 0.6]])
(
    _CAP,
    _EMPTY,
    _FULL,
    _SPEED,
    _SPEED_CV,
    _ROAD,
    _DW_BASE,
    _DW_REFILL,
    _DW_CLIENT,
    _REFILL_TO,
    _DELIVERY,
    _DELIVERY_CV,
    _NONPROD,
    _RETURN,
    _LOSS,
    _SNOISE,
    _SLOSH,
    _T_MEAN,
    _T_AMP,
    _DRAIN,
    _CHARGE,
    _SIG_MEAN,
    _SIG_SD,
    _GPS,
    _STEP_S,
) = range(25)
_NPARAM = 25
# integer state: current point, target point (-1 while dwelling), decisions made
_I_POINT, _I_TARGET, _I_DECISIONS = range(3)
# float state
_S_LITERS, _S_BATTERY, _S_LAT, _S_LON, _S_DWELL, _S_LEG_KM, _S_LEG_LEFT, _S_SPEED = range(8)
_S_FROM_LAT, _S_FROM_LON = 8, 9


@njit(inline="always", nogil=True, cache=True)
def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2.0 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


@njit(nogil=True, cache=True)
def _pick(
    key: np.uint64, route_start: int, route_len: int, kinds: np.ndarray, kind: int, avoid: int
) -> int:
    """A point of ``kind`` on the route, uniformly, avoiding ``avoid`` when there is a choice."""
    count = 0
    for i in range(route_start, route_start + route_len):
        if kinds[i] == kind and i != avoid:
            count += 1
    if count == 0:
        return avoid
    pick = int(unit_nb(key, np.uint64(1)) * count)
    for i in range(route_start, route_start + route_len):
        if kinds[i] == kind and i != avoid:
            if pick == 0:
                return i
            pick -= 1
    return avoid


@njit(nogil=True, cache=True)
def _run(
    origin_s: int,
    tick_s: int,
    row_device: np.ndarray,
    row_tick: np.ndarray,
    keys: np.ndarray,
    p: np.ndarray,
    samples: np.ndarray,
    route_of: np.ndarray,
    route_start: np.ndarray,
    route_len: np.ndarray,
    trans: np.ndarray,
    pt_lat: np.ndarray,
    pt_lon: np.ndarray,
    pt_kind: np.ndarray,
    si: np.ndarray,
    sf: np.ndarray,
    out_f: np.ndarray,
    out_point: np.ndarray,
    out_signal: np.ndarray,
    raw_out: np.ndarray,
) -> None:
    for r in range(row_device.shape[0]):
        d = row_device[r]
        t = origin_s + row_tick[r] * tick_s
        key = word_nb(keys[d], np.uint64(t))
        cap = p[d, _CAP]
        left_min = p[d, _STEP_S] / 60.0
        inflow = outflow = loss = km = moving_min = 0.0
        while left_min > 1e-9:
            if si[d, _I_TARGET] < 0:  # dwelling
                use = min(left_min, sf[d, _S_DWELL])
                sf[d, _S_DWELL] -= use
                left_min -= use
                if sf[d, _S_DWELL] > 1e-9:
                    continue
                # dwell over: decide the next stop
                dk = word_nb(keys[d] ^ np.uint64(0x5DEECE66D), np.uint64(si[d, _I_DECISIONS]))
                si[d, _I_DECISIONS] += 1
                here = si[d, _I_POINT]
                rt = route_of[d]
                kind = pt_kind[here]
                if sf[d, _S_LITERS] / cap * 100.0 < p[d, _RETURN] and kind != 1:
                    nxt = 1
                else:
                    u = unit_nb(dk, np.uint64(0))
                    nxt, acc = 2, 0.0
                    for k in range(3):
                        acc += trans[rt, kind, k]
                        if u < acc:
                            nxt = k
                            break
                target = _pick(dk, route_start[rt], route_len[rt], pt_kind, nxt, here)
                if target == here:  # nowhere else to go: dwell again
                    sf[d, _S_DWELL] = p[d, _DW_BASE]
                    continue
                leg = _km(pt_lat[here], pt_lon[here], pt_lat[target], pt_lon[target]) * p[d, _ROAD]
                speed = p[d, _SPEED] * max(0.3, 1.0 + p[d, _SPEED_CV] * normal_nb(dk, 2))
                si[d, _I_TARGET] = target
                sf[d, _S_LEG_KM] = max(leg, 0.05)
                sf[d, _S_LEG_LEFT] = max(leg, 0.05)
                sf[d, _S_SPEED] = speed
                sf[d, _S_FROM_LAT] = pt_lat[here]
                sf[d, _S_FROM_LON] = pt_lon[here]
            else:  # driving
                speed = sf[d, _S_SPEED]
                use = min(left_min, sf[d, _S_LEG_LEFT] / speed * 60.0)
                step_km = speed * use / 60.0
                lost = sf[d, _S_LITERS] * p[d, _LOSS] / 100.0 * step_km
                sf[d, _S_LITERS] -= lost
                loss += lost
                km += step_km
                moving_min += use
                left_min -= use
                sf[d, _S_LEG_LEFT] -= step_km
                target = si[d, _I_TARGET]
                frac = 1.0 - max(0.0, sf[d, _S_LEG_LEFT]) / sf[d, _S_LEG_KM]
                sf[d, _S_LAT] = sf[d, _S_FROM_LAT] + (pt_lat[target] - sf[d, _S_FROM_LAT]) * frac
                sf[d, _S_LON] = sf[d, _S_FROM_LON] + (pt_lon[target] - sf[d, _S_FROM_LON]) * frac
                if sf[d, _S_LEG_LEFT] > 1e-9:
                    continue
                # arrived
                dk = word_nb(
                    keys[d] ^ np.uint64(0x2545F4914F6CDD1D), np.uint64(si[d, _I_DECISIONS])
                )
                si[d, _I_POINT] = target
                si[d, _I_TARGET] = -1
                kind = pt_kind[target]
                if kind == 1:
                    fill = max(0.0, cap * p[d, _REFILL_TO] / 100.0 - sf[d, _S_LITERS])
                    sf[d, _S_LITERS] += fill
                    inflow += fill
                    sf[d, _S_DWELL] = p[d, _DW_REFILL]
                elif kind == 2:
                    if unit_nb(dk, np.uint64(0)) >= p[d, _NONPROD]:
                        want = p[d, _DELIVERY] * max(
                            0.1, 1.0 + p[d, _DELIVERY_CV] * normal_nb(dk, 2)
                        )
                        give = min(want, sf[d, _S_LITERS])
                        sf[d, _S_LITERS] -= give
                        outflow += give
                    sf[d, _S_DWELL] = p[d, _DW_CLIENT]
                else:
                    sf[d, _S_DWELL] = p[d, _DW_BASE]
        liters = min(cap, max(0.0, sf[d, _S_LITERS]))
        sf[d, _S_LITERS] = liters
        level = liters / cap * 100.0
        step_h = p[d, _STEP_S] / 3600.0
        battery = (
            sf[d, _S_BATTERY] - p[d, _DRAIN] * step_h / 24.0 + p[d, _CHARGE] * moving_min / 60.0
        )
        battery = min(100.0, max(1.0, battery))
        sf[d, _S_BATTERY] = battery
        moving = si[d, _I_TARGET] >= 0
        noise = p[d, _SNOISE] + (p[d, _SLOSH] if moving else 0.0)
        distance = distance_nb(p[d, _EMPTY], p[d, _FULL], level)
        temp10, signal = sensor_fields(
            key,
            t,
            distance,
            noise,
            samples[d],
            p[d, _T_MEAN],
            p[d, _T_AMP],
            p[d, _SIG_MEAN],
            p[d, _SIG_SD],
            raw_out,
            r,
        )
        gps_deg = p[d, _GPS] / 111_320.0
        lat = sf[d, _S_LAT] + gps_deg * normal_nb(key, 90)
        lon = sf[d, _S_LON] + gps_deg * normal_nb(key, 92) / max(0.01, math.cos(math.radians(lat)))
        out_f[0, r] = lat
        out_f[1, r] = lon
        out_f[2, r] = sf[d, _S_SPEED] if moving else 0.0
        out_f[3, r] = liters
        out_f[4, r] = level
        out_f[5, r] = inflow
        out_f[6, r] = outflow
        out_f[7, r] = loss
        out_f[8, r] = km
        out_f[9, r] = distance
        out_f[10, r] = temp10 / 10.0
        out_f[11, r] = battery
        out_signal[r] = signal
        out_point[r] = -1 if moving else si[d, _I_POINT]


_FLOAT_COLUMNS = (
    "latitude",
    "longitude",
    "speed_kmh",
    "liters",
    "level_pct",
    "inflow_liters",
    "outflow_liters",
    "loss_liters",
    "distance_km",
    "distance_mm",
    "temperature_c",
    "battery_percentage",
)


class MobileFleet:
    """The ``mobile_truck`` model for a set of devices (see :mod:`synthkit_reservoir.fleet`)."""

    def __init__(self, devices: Sequence, seed: int, step_seconds: Sequence[int]) -> None:
        n = len(devices)
        self.keys = device_keys(seed, [d.device_id for d in devices])
        routes: dict[str, int] = {}
        lat: list[float] = []
        lon: list[float] = []
        kind: list[int] = []
        names: list[str] = []
        starts: list[int] = []
        lens: list[int] = []
        trans: list[np.ndarray] = []
        self.route_of = np.zeros(n, np.int64)
        for i, dev in enumerate(devices):
            route = dev.route
            if route.route_id not in routes:
                routes[route.route_id] = len(starts)
                starts.append(len(lat))
                lens.append(len(route.points))
                for pt in route.points:
                    lat.append(pt.latitude)
                    lon.append(pt.longitude)
                    kind.append(KINDS.index(pt.kind))
                    names.append(pt.point_id)
                trans.append(_transitions(route))
            self.route_of[i] = routes[route.route_id]
        self.route_start = np.array(starts, np.int64)
        self.route_len = np.array(lens, np.int64)
        self.trans = np.array(trans) if trans else np.zeros((0, 3, 3))
        self.pt_lat, self.pt_lon = np.array(lat, float), np.array(lon, float)
        self.pt_kind = np.array(kind, np.int64)
        self.labels = {"point_id": tuple(names)}
        self.p = np.zeros((n, _NPARAM))
        self.samples = np.zeros(n, np.int64)
        self.si = np.zeros((n, 3), np.int64)
        self.sf = np.zeros((n, 10))
        for i, dev in enumerate(devices):
            prm: MobileTruckParams = dev.params
            cal = prm.calibration()
            self.p[i] = (
                cal.capacity_liters,
                cal.empty_mm,
                cal.full_mm,
                prm.speed_kmh,
                prm.speed_cv,
                prm.road_factor,
                prm.dwell_minutes_base,
                prm.dwell_minutes_refill,
                prm.dwell_minutes_client,
                prm.refill_to_pct,
                prm.delivery_liters,
                prm.delivery_cv,
                prm.nonproductive_stop_prob,
                prm.return_to_refill_pct,
                prm.transit_loss_pct_per_km,
                prm.sensor_noise_mm,
                prm.slosh_noise_mm,
                prm.temperature_mean_c,
                prm.temperature_daily_amplitude_c,
                prm.battery_drain_pct_per_day,
                prm.battery_charge_pct_per_hour_moving,
                prm.signal_mean_dbm,
                prm.signal_sd_dbm,
                prm.gps_noise_m,
                step_seconds[i],
            )
            self.samples[i] = prm.raw_samples
            # start parked at the route's first BASE point (else its first point)
            r0 = self.route_start[self.route_of[i]]
            rl = self.route_len[self.route_of[i]]
            base = next((j for j in range(r0, r0 + rl) if self.pt_kind[j] == 0), r0)
            self.si[i] = (base, -1, 0)
            self.sf[i, _S_LITERS] = cal.liters_from_level_pct(prm.initial_level_pct)
            self.sf[i, _S_BATTERY] = prm.battery_start_pct
            self.sf[i, _S_LAT], self.sf[i, _S_LON] = self.pt_lat[base], self.pt_lon[base]
            self.sf[i, _S_DWELL] = prm.dwell_minutes_base
        self.max_samples = int(self.samples.max()) if n else 1

    def emit(self, block: Block) -> dict[str, np.ndarray]:
        n = block.rows
        out_f = np.empty((len(_FLOAT_COLUMNS), n))
        point = np.empty(n, np.int64)
        signal = np.empty(n, np.int64)
        raw = np.empty((n, self.max_samples), np.int64)
        _run(
            block.origin_s,
            block.tick_s,
            block.row_device,
            block.row_tick,
            self.keys,
            self.p,
            self.samples,
            self.route_of,
            self.route_start,
            self.route_len,
            self.trans,
            self.pt_lat,
            self.pt_lon,
            self.pt_kind,
            self.si,
            self.sf,
            out_f,
            point,
            signal,
            raw,
        )
        out = {name: out_f[i] for i, name in enumerate(_FLOAT_COLUMNS)}
        out["signal_strength_dbm"] = signal
        out["point_id"] = point  # -1 while driving
        out["raw_readings"] = raw
        return out


def _transitions(route) -> np.ndarray:
    """The route's 3x3 kind-to-kind matrix; rows it does not give use the defaults."""
    matrix = _DEFAULT_TRANSITIONS.copy()
    given = {KINDS.index(t.from_kind) for t in route.transitions}
    for k in given:
        matrix[k] = 0.0
    for t in route.transitions:
        matrix[KINDS.index(t.from_kind), KINDS.index(t.to_kind)] += t.probability
    return matrix
