"""The driver model: drivers take trips; each driving minute yields one event.

A trip has a length, a road (posted limit), a cruise speed and a heading profile. Within a
trip speed ramps up, cruises with a gentle wobble and ramps down; heading drifts and sways;
position is dead-reckoned from speed and heading, so all three are continuous. Between trips
the driver is parked for a random gap. Everything a driver does is a pure function of
(run key, driver index): adding drivers never changes another driver's events.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from synthkit.api import unit_nb, word_nb

PROFILES = ("ultra_safe", "safe", "moderate", "risky", "ultra_risky")
PROFILE_WEIGHTS = np.array([0.05, 0.25, 0.40, 0.20, 0.10])
PROFILE_CRUISE = np.array([0.90, 0.95, 1.00, 1.06, 1.12])  # cruise speed / posted limit
PROFILE_INTENSITY = np.array([0.7, 0.8, 1.0, 1.4, 1.8])  # scales event severities
MODERATE = PROFILES.index("moderate")

ROAD_LIMITS = np.array([25, 35, 45, 55, 65, 70], dtype=np.int64)
ROAD_CDF = np.cumsum([0.18, 0.24, 0.20, 0.14, 0.16, 0.08])

# (car_type, share, base value in USD, sportiness), as in the seed's public generator.
CAR_TYPES = (
    ("economy", 0.30, 18_000, 0.15),
    ("sedan", 0.35, 28_000, 0.25),
    ("suv", 0.18, 40_000, 0.30),
    ("luxury", 0.10, 65_000, 0.40),
    ("sports", 0.05, 85_000, 0.70),
    ("super", 0.02, 140_000, 0.90),
)

# Per-driver float state. The two oscillations (heading sway, speed wobble) advance by a
# rotation each minute instead of calling sin() per event: same curve, a fraction of the cost.
_F_LAT, _F_LON, _F_POSTED, _F_CRUISE, _F_H0, _F_HAMP, _F_DRIFT, _F_SAMP, _F_COSLAT = range(9)
_F_HS, _F_HC, _F_HCW, _F_HSW, _F_SS, _F_SC, _F_SCW, _F_SSW = range(9, 17)
STATE_F = 17
STATE_I = 5

NIGHT_END_HOUR = 4  # local 00:00-03:59 counts as late night
MAX_IDLE_MINUTES = 200_000  # minutes without an eligible event before we call the weights unusable
_HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % i for i in range(256)), dtype=np.uint8).copy()
_MILES_PER_DEG_LAT = 69.0

# Word slots under one driven-minute key (slots 16+ belong to event-type plugins).
_S_TYPE, _S_SPEED, _S_HEAD, _S_MS, _S_ID_LO, _S_ID_HI = 0, 1, 2, 3, 4, 5
# Word slots under one trip key.
_T_LEN1, _T_LEN2, _T_GAP, _T_ROAD, _T_H0, _T_HAMP, _T_HPER, _T_HPH, _T_DRIFT = range(9)
_T_SAMP, _T_SPER, _T_SPH, _T_ORIG_LAT, _T_ORIG_LON, _T_CRUISE = range(9, 15)


@njit(inline="always", nogil=True, cache=True)
def _put_hex(out: np.ndarray, r: int, col: int, value: np.uint64, digits: int) -> None:
    """``digits`` (even) lowercase hex digits of ``value``, two per table lookup."""
    for i in range(digits // 2):
        shift = np.uint64(8 * (digits // 2 - 1 - i))
        pair = int((value >> shift) & np.uint64(255)) * 2
        out[r, col + 2 * i] = _HEX_PAIRS[pair]
        out[r, col + 2 * i + 1] = _HEX_PAIRS[pair + 1]


@njit(inline="always", nogil=True, cache=True)
def _put_digits(out: np.ndarray, r: int, col: int, value: int, digits: int) -> None:
    for i in range(digits - 1, -1, -1):
        out[r, col + i] = 48 + value % 10
        value //= 10


@njit(nogil=True, cache=True)
def _put_date(out: np.ndarray, r: int, days: int) -> None:
    """YYYY-MM-DDT for a day number (civil-from-days, H. Hinnant)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    _put_digits(out, r, 0, y, 4)
    out[r, 4] = 45
    _put_digits(out, r, 5, m, 2)
    out[r, 7] = 45
    _put_digits(out, r, 8, d, 2)
    out[r, 10] = 84  # T


@njit(inline="always", nogil=True, cache=True)
def _put_iso(out: np.ndarray, r: int, ms: int, prev_row: int) -> None:
    """YYYY-MM-DDTHH:MM:SS.mmmZ; the date is copied from ``prev_row`` when it is the same day
    (a driver's consecutive events almost always are), else computed."""
    days = ms // 86_400_000
    rem = ms - days * 86_400_000
    if prev_row >= 0:
        for i in range(11):
            out[r, i] = out[prev_row, i]
    else:
        _put_date(out, r, days)
    _put_digits(out, r, 11, rem // 3_600_000, 2)
    out[r, 13] = 58
    _put_digits(out, r, 14, (rem // 60_000) % 60, 2)
    out[r, 16] = 58
    _put_digits(out, r, 17, (rem // 1000) % 60, 2)
    out[r, 19] = 46
    _put_digits(out, r, 20, rem % 1000, 3)
    out[r, 23] = 90  # Z


@njit(inline="always", nogil=True, cache=True)
def _eligible(
    weight: float,
    speed: float,
    hour: int,
    posted: float,
    min_speed: float,
    night_only: bool,
    over_limit: float,
) -> bool:
    """Whether an event type may be chosen this minute (EventType's eligibility): the one
    rule both the weight total and the weighted pick apply."""
    if weight <= 0.0 or speed < min_speed:
        return False
    if night_only and hour >= NIGHT_END_HOUR:
        return False
    return math.isnan(over_limit) or speed >= posted + over_limit


@njit(inline="always", nogil=True, cache=True)
def _weather(key: np.uint64, cdf: np.ndarray, utc_hour: int) -> int:
    """The weather in a region this UTC hour: 0 (clear) or 1 + its condition's index."""
    if cdf.shape[0] == 0:
        return 0
    u = unit_nb(key, np.uint64(utc_hour))
    for i in range(cdf.shape[0]):
        if u < cdf[i]:
            return i + 1
    return 0


@njit(inline="always", nogil=True, cache=True)
def _slowed(
    cruise: float, traffic_speed: np.ndarray, hour: int, weather_speed: np.ndarray, weather: int
) -> float:
    """The cruise speed in the hour's traffic and weather, where declared (when not, the
    speed waits for no table lookup)."""
    if traffic_speed.shape[0] > 0:
        cruise *= traffic_speed[hour]
    if weather > 0:
        cruise *= weather_speed[weather]
    return cruise


@njit(inline="always", nogil=True, cache=True)
def _weight(weights: np.ndarray, weather_mult: np.ndarray, d: int, t: int, weather: int) -> float:
    """Driver ``d``'s weight for event type ``t`` in this weather."""
    return weights[d, t] if weather == 0 else weights[d, t] * weather_mult[weather, t]


@njit(nogil=True, cache=True)
def drive(
    k_events: int,
    driver_index: np.ndarray,  # int64, driver number (D0003 -> 3)
    driver_key: np.ndarray,  # uint64 per driver
    id_key: np.uint64,  # run key for trip ids and event ids
    cruise_factor: np.ndarray,  # float per driver
    home_lat: np.ndarray,
    home_lon: np.ndarray,
    weights: np.ndarray,  # float (drivers, types): per-driver event-type weights
    min_speed: np.ndarray,  # float per type
    night_only: np.ndarray,  # bool per type
    over_limit: np.ndarray,  # float per type, NaN when not required
    start_min: int,  # epoch minutes of the run start
    utc_offset_min: np.ndarray,  # int64 per driver: its region's time zone
    weather_keys: np.ndarray,  # uint64 per driver: its region's weather, drawn each hour
    weather_cdf: np.ndarray,  # float per condition: cumulative chances (none: always clear)
    weather_speed: np.ndarray,  # float per weather (clear first): speed factor
    weather_mult: np.ndarray,  # float (weathers, types): event-type weight factors
    traffic_speed: np.ndarray,  # float per local hour: speed factor (none: no congestion)
    jitter_deg: float,
    trip_avg: float,
    trip_std: float,
    gap_avg: float,
    state_i: np.ndarray,  # int64 (drivers, STATE_I): trip_no, minute in trip, trip length, trip start, driven minutes
    state_f: np.ndarray,  # float (drivers, STATE_F): see the _F_* columns
    out_ts: np.ndarray,  # int64 ms
    out_period: np.ndarray,
    out_lat: np.ndarray,  # int64 micro-degrees
    out_lon: np.ndarray,
    out_speed: np.ndarray,  # int64 tenths of mph
    out_heading: np.ndarray,
    out_posted: np.ndarray,
    out_hour: np.ndarray,
    out_type: np.ndarray,
    out_rowkey: np.ndarray,
    out_id: np.ndarray,  # uint8 (rows, 32)
    out_trip: np.ndarray,  # uint8 (rows, 18)
    out_iso: np.ndarray,  # uint8 (rows, 24)
    out_weather: np.ndarray,  # int64: the weather each event was driven in (0: clear)
) -> int:
    """Advance every driver by ``k_events`` events; rows are laid out (event, driver).

    Returns -1, or the index of a driver that found no eligible event type for too long.
    """
    n = driver_key.shape[0]
    n_types = min_speed.shape[0]
    two_pi = 2.0 * math.pi
    prev_rows = np.full(n, -1, np.int64)  # each driver's previous row, to reuse its date text
    prev_days = np.full(n, -1, np.int64)
    # Event-major order: rows are laid out (event, driver), so this writes every output
    # sequentially; driver-major order re-fetched each cache line once per driver.
    for k in range(k_events):
        for d in range(n):
            dkey = driver_key[d]
            trip_key = dkey ^ np.uint64(0x7A3C5E1F9B2D4C68)
            prev_row = prev_rows[d]
            prev_day = prev_days[d]
            row = k * n + d
            idle = 0
            while True:
                if state_i[d, 1] >= state_i[d, 2]:  # trip over (or none yet): start the next
                    j = state_i[d, 0] + 1
                    tk = word_nb(trip_key, np.uint64(j))
                    u1 = max(unit_nb(tk, np.uint64(_T_LEN1)), 1e-12)
                    u2 = unit_nb(tk, np.uint64(_T_LEN2))
                    normal = math.sqrt(-2.0 * math.log(u1)) * math.cos(two_pi * u2)
                    length = int(round(trip_avg + trip_std * normal))
                    length = min(max(length, 5), int(trip_avg * 4) + 5)
                    gap = -math.log(max(unit_nb(tk, np.uint64(_T_GAP)), 1e-12)) * gap_avg
                    if j == 0:
                        begin = int(unit_nb(tk, np.uint64(_T_GAP)) * gap_avg)
                    else:
                        begin = state_i[d, 3] + state_i[d, 2] + 10 + int(gap)
                    road = unit_nb(tk, np.uint64(_T_ROAD))
                    limit = ROAD_LIMITS[ROAD_LIMITS.shape[0] - 1]
                    for i in range(ROAD_CDF.shape[0]):
                        if road < ROAD_CDF[i]:
                            limit = ROAD_LIMITS[i]
                            break
                    state_i[d, 0] = j
                    state_i[d, 1] = 0
                    state_i[d, 2] = length
                    state_i[d, 3] = begin
                    lat0 = home_lat[d] + (unit_nb(tk, np.uint64(_T_ORIG_LAT)) - 0.5) * jitter_deg
                    lon0 = home_lon[d] + (unit_nb(tk, np.uint64(_T_ORIG_LON)) - 0.5) * jitter_deg
                    state_f[d, _F_LAT] = lat0
                    state_f[d, _F_LON] = lon0
                    state_f[d, _F_COSLAT] = max(math.cos(lat0 * math.pi / 180.0), 0.01)
                    state_f[d, _F_POSTED] = float(limit)
                    state_f[d, _F_CRUISE] = (
                        limit * cruise_factor[d] * (0.90 + 0.30 * unit_nb(tk, np.uint64(_T_CRUISE)))
                    )
                    state_f[d, _F_H0] = 360.0 * unit_nb(tk, np.uint64(_T_H0))
                    state_f[d, _F_HAMP] = 5.0 + 35.0 * unit_nb(tk, np.uint64(_T_HAMP))
                    state_f[d, _F_DRIFT] = -3.0 + 6.0 * unit_nb(tk, np.uint64(_T_DRIFT))
                    state_f[d, _F_SAMP] = 0.03 + 0.06 * unit_nb(tk, np.uint64(_T_SAMP))
                    h_omega = two_pi / (6.0 + 14.0 * unit_nb(tk, np.uint64(_T_HPER)))
                    h_phase = two_pi * unit_nb(tk, np.uint64(_T_HPH))
                    s_omega = two_pi / (4.0 + 8.0 * unit_nb(tk, np.uint64(_T_SPER)))
                    s_phase = two_pi * unit_nb(tk, np.uint64(_T_SPH))
                    state_f[d, _F_HS] = math.sin(h_phase)
                    state_f[d, _F_HC] = math.cos(h_phase)
                    state_f[d, _F_HCW] = math.cos(h_omega)
                    state_f[d, _F_HSW] = math.sin(h_omega)
                    state_f[d, _F_SS] = math.sin(s_phase)
                    state_f[d, _F_SC] = math.cos(s_phase)
                    state_f[d, _F_SCW] = math.cos(s_omega)
                    state_f[d, _F_SSW] = math.sin(s_omega)
                m = state_i[d, 1]
                length = state_i[d, 2]
                mk = word_nb(dkey, np.uint64(state_i[d, 4]))  # this driven minute's key
                minute = state_i[d, 3] + m
                local = (start_min + minute + utc_offset_min[d]) % 1440
                hour = local // 60
                weather = _weather(weather_keys[d], weather_cdf, (start_min + minute) // 60)
                ramp = min(1.0, (m + 1) / 3.0, (length - m) / 2.5)
                wobble = 1.0 + state_f[d, _F_SAMP] * state_f[d, _F_SS]
                cruise = _slowed(
                    state_f[d, _F_CRUISE] * ramp * wobble,
                    traffic_speed,
                    hour,
                    weather_speed,
                    weather,
                )
                speed = cruise + (unit_nb(mk, np.uint64(_S_SPEED)) - 0.5) * 2.0
                speed = max(0.0, round(speed * 10.0) / 10.0)
                # out and back: a U-turn over ~6 minutes around the middle keeps drivers near home
                back = min(max((m - length / 2.0) / 6.0 + 0.5, 0.0), 1.0)
                heading_f = (
                    state_f[d, _F_H0]
                    + 180.0 * back
                    + state_f[d, _F_DRIFT] * m
                    + state_f[d, _F_HAMP] * state_f[d, _F_HS]
                    + (unit_nb(mk, np.uint64(_S_HEAD)) - 0.5) * 4.0
                )
                heading = int(math.floor(heading_f)) % 360
                # advance both oscillations by one minute (a rotation)
                hs, hc = state_f[d, _F_HS], state_f[d, _F_HC]
                state_f[d, _F_HS] = hs * state_f[d, _F_HCW] + hc * state_f[d, _F_HSW]
                state_f[d, _F_HC] = hc * state_f[d, _F_HCW] - hs * state_f[d, _F_HSW]
                ss, sc = state_f[d, _F_SS], state_f[d, _F_SC]
                state_f[d, _F_SS] = ss * state_f[d, _F_SCW] + sc * state_f[d, _F_SSW]
                state_f[d, _F_SC] = sc * state_f[d, _F_SCW] - ss * state_f[d, _F_SSW]
                if m > 0:  # dead-reckon one minute at this speed and heading
                    miles = speed / 60.0
                    rad = heading * math.pi / 180.0
                    state_f[d, _F_LAT] += miles * math.cos(rad) / _MILES_PER_DEG_LAT
                    state_f[d, _F_LON] += (
                        miles * math.sin(rad) / (_MILES_PER_DEG_LAT * state_f[d, _F_COSLAT])
                    )
                posted = state_f[d, _F_POSTED]
                total = 0.0
                for t in range(n_types):
                    w = _weight(weights, weather_mult, d, t, weather)
                    if not _eligible(
                        w, speed, hour, posted, min_speed[t], night_only[t], over_limit[t]
                    ):
                        continue
                    total += w
                state_i[d, 1] += 1
                state_i[d, 4] += 1
                if total <= 0.0:
                    idle += 1
                    if idle > MAX_IDLE_MINUTES:
                        return d
                    continue
                pick = unit_nb(mk, np.uint64(_S_TYPE)) * total
                chosen = -1
                acc = 0.0
                for t in range(n_types):
                    w = _weight(weights, weather_mult, d, t, weather)
                    if not _eligible(
                        w, speed, hour, posted, min_speed[t], night_only[t], over_limit[t]
                    ):
                        continue
                    acc += w
                    chosen = t
                    if pick < acc:
                        break
                ms = (start_min + minute) * 60_000 + int(unit_nb(mk, np.uint64(_S_MS)) * 59_000)
                out_ts[row] = ms
                out_period[row] = minute
                out_lat[row] = int(round(state_f[d, _F_LAT] * 1e6))
                out_lon[row] = int(round(state_f[d, _F_LON] * 1e6))
                out_speed[row] = int(round(speed * 10.0))
                out_heading[row] = heading
                out_posted[row] = int(posted)
                out_hour[row] = hour
                out_type[row] = chosen
                out_weather[row] = weather
                out_rowkey[row] = mk
                # event id: a UUID4 from two words (version and variant bits set) of this
                # minute's key and the run's identity, so no other run shares it
                hi = word_nb(mk ^ id_key, np.uint64(_S_ID_HI))
                lo = word_nb(mk ^ id_key, np.uint64(_S_ID_LO))
                hi = (hi & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
                lo = (lo & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
                _put_hex(out_id, row, 0, hi, 16)
                _put_hex(out_id, row, 16, lo, 16)
                # trip id: a bijective mix of (driver, trip) is unique by construction
                tid = (
                    id_key
                    + (np.uint64(driver_index[d]) << np.uint64(32))
                    + np.uint64(state_i[d, 0])
                )
                z = tid
                z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
                z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
                z = z ^ (z >> np.uint64(31))
                out_trip[row, 0] = 84  # T
                out_trip[row, 1] = 45  # -
                _put_hex(out_trip, row, 2, z, 16)
                day = ms // 86_400_000
                _put_iso(out_iso, row, ms, prev_row if day == prev_day else -1)
                prev_rows[d] = row
                prev_days[d] = day
                break
    return -1
