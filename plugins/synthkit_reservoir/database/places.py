"""Place clustering: where the trucks stop, as places in the analytics read model.

The runbook's bootstrap "optionally drains the analytics consumer and runs place clustering".
A truck's stops are its telemetry with ``speed_kmh`` 0 (dwelling at a BASE, REFILL or CLIENT
point), GPS jitter included. Per route, the stops are clustered by density on great-circle
(haversine) distance, DBSCAN's way: a stop with at least ``min_visits`` stops within
``eps_m`` (itself included) is a core; cores within ``eps_m`` of each other form one place, and
a stop within ``eps_m`` of a core joins its place; the rest is noise.

Vectorised: the trucks' rows are read once and their stops kept (a device id and two floats
each, so memory grows with the stops, not with all telemetry); the stops are counted into
cells of ``eps_m / 4`` (an equirectangular grid around the route), and the clustering runs on
the occupied cells, weighted by their stop counts, with exact haversine distances between
cell centres (a cell centre is within ``eps_m * 0.18`` of any of its stops). Each place gets its
centroid, the radius that holds its stops, its visits (stops) and devices, and the route point
within ``eps_m`` of its centroid, if any. The places of the clustered routes are replaced in one
transaction: a re-run gives the same table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, insert, select

from synthkit_reservoir.database.schema import places, telemetry

EARTH_M = 6_371_008.8


def haversine_m(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Great-circle distance in metres between points given in degrees (broadcasting)."""
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def density_labels(lat: np.ndarray, lon: np.ndarray, eps_m: float, min_visits: int) -> np.ndarray:
    """A place number per stop (0, 1, ... in order of first stop), -1 for noise."""
    n = lat.size
    if n == 0:
        return np.zeros(0, np.int64)
    cell = eps_m / 4
    y = np.floor(np.radians(lat) * EARTH_M / cell).astype(np.int64)
    x = np.floor(np.radians(lon) * EARTH_M * np.cos(np.radians(lat.mean())) / cell).astype(np.int64)
    keys, of_stop, weight = np.unique(
        np.stack([y, x], 1), axis=0, return_inverse=True, return_counts=True
    )
    of_stop = of_stop.reshape(-1)
    c_lat = np.bincount(of_stop, lat) / weight  # each cell's centre: the mean of its stops
    c_lon = np.bincount(of_stop, lon) / weight
    near = haversine_m(c_lat[:, None], c_lon[:, None], c_lat[None, :], c_lon[None, :]) <= eps_m
    core = (near * weight[None, :]).sum(1) >= min_visits
    m = len(keys)
    label = np.where(core, np.arange(m), m)  # m: no place yet
    links = near & core[:, None] & core[None, :]
    while True:  # connected cores share the smallest label
        spread = np.where(links, label[None, :], m).min(1)
        new = np.where(core, np.minimum(label, spread), m)
        if np.array_equal(new, label):
            break
        label = new
    border = ~core & (near & core[None, :]).any(1)
    label[border] = np.where(near & core[None, :], label[None, :], m).min(1)[border]
    per_stop = label[of_stop]
    out = np.full(n, -1, np.int64)
    placed = per_stop < m
    if placed.any():  # number the places in the order of their first stop
        found, first, which = np.unique(per_stop[placed], return_index=True, return_inverse=True)
        rank = np.empty(len(found), np.int64)
        rank[np.argsort(first)] = np.arange(len(found))
        out[placed] = rank[which.reshape(-1)]
    return out


def cluster_places(
    engine: Engine,
    routes: Mapping[str, str],
    points: Mapping[str, Sequence[tuple]],
    *,
    eps_m: float = 150.0,
    min_visits: int = 3,
) -> dict[str, Any]:
    """Cluster the stops of ``routes`` (client id -> route id) into ``places``;
    ``points[route]``: its (point_id, kind, latitude, longitude). Returns a summary."""
    by_route: dict[str, list[tuple[str, float, float]]] = {r: [] for r in set(routes.values())}
    with engine.connect() as conn:
        rows = conn.execute(
            select(telemetry.c.mqtt_client_id, telemetry.c.payload).where(
                telemetry.c.mqtt_client_id.in_(list(routes))
            )
        )
        for client, payload in rows:
            where = json.loads(payload).get("location") or {}
            if where.get("speed_kmh") == 0:
                by_route[routes[client]].append((client, where["latitude"], where["longitude"]))
    found, noise, stops = [], 0, 0
    for route in sorted(by_route):
        visits = by_route[route]
        stops += len(visits)
        lat = np.array([v[1] for v in visits], float)
        lon = np.array([v[2] for v in visits], float)
        labels = density_labels(lat, lon, eps_m, min_visits)
        noise += int((labels < 0).sum())
        for place in range(int(labels.max()) + 1 if labels.size else 0):
            member = labels == place
            c_lat, c_lon = float(lat[member].mean()), float(lon[member].mean())
            pts = points.get(route, ())
            dist = [
                float(haversine_m(np.array(c_lat), np.array(c_lon), np.array(p[2]), np.array(p[3])))
                for p in pts
            ]
            nearest = int(np.argmin(dist)) if dist and min(dist) <= eps_m else None
            found.append(
                {
                    "route_id": route,
                    "place_id": place,
                    "latitude": round(c_lat, 6),
                    "longitude": round(c_lon, 6),
                    "radius_m": round(
                        float(haversine_m(c_lat, c_lon, lat[member], lon[member]).max()), 1
                    ),
                    "visits": int(member.sum()),
                    "devices": len({visits[i][0] for i in np.flatnonzero(member)}),
                    "point_id": pts[nearest][0] if nearest is not None else None,
                    "kind": pts[nearest][1] if nearest is not None else None,
                }
            )
    with engine.begin() as conn:
        conn.execute(delete(places).where(places.c.route_id.in_(list(by_route))))
        if found:
            conn.execute(insert(places), found)
    return {
        "routes": len(by_route),
        "places": len(found),
        "stops": stops,
        "noise_stops": noise,
        "eps_m": eps_m,
        "min_visits": min_visits,
    }
