"""analyze-csv's report: the profile and archetype metrics of the devices read, and a
dataset's parts' label reports taken together."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from synthkit_reservoir.analyze_scan import Device
from synthkit_reservoir.analyze_signals import drift_means

COUNTS = frozenset({"supply_events"})  # per-device metrics that are counts


PARAMETERS = frozenset({"columns", "min_run"})  # a label report's settings, not counts


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The parts' label reports as one (their devices differ): counts added, problems
    joined, each drift's slopes averaged over every part's devices."""
    if not reports:
        return {}
    out: dict[str, Any] = {}
    for key, first in reports[0].items():
        values = [r[key] for r in reports if key in r]
        if key == "file":
            out[key] = first if len(values) == 1 else values
        elif key == "drift":
            out[key] = _drifts([d for v in values for d in v])
        elif key in PARAMETERS or isinstance(first, str):
            out[key] = first
        elif isinstance(first, dict):
            out[key] = merge_reports(values)
        elif isinstance(first, list):
            out[key] = [x for v in values for x in v]
        else:
            out[key] = sum(values)
    return out


def _drifts(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each drift (by name and column) once, its slopes over all its devices."""
    slopes: dict[tuple[Any, Any], tuple[dict[str, Any], list[float], list[float]]] = {}
    for e in entries:
        head = {k: e[k] for k in ("name", "column", "per_day")}
        _, on, off = slopes.setdefault((e["name"], e["column"]), (head, [], []))
        on.extend(e["_on"])
        off.extend(e["_off"])
    out = []
    for head, on, off in slopes.values():
        report = drift_means(head, on, off)
        del report["_on"], report["_off"]
        out.append(report)
    return out


def profile(devices: dict[str, Device], manifest: dict[str, Any]) -> dict[str, Any]:
    by_mode: dict[str, int] = defaultdict(int)
    by_arch: dict[str, int] = defaultdict(int)
    for d in devices.values():
        by_mode[d.mode] += d.rows
        by_arch[d.archetype] += d.rows
    return {
        "scenario_id": manifest.get("scenario_id"),
        "window": manifest.get("window"),
        "rows_by_mode": dict(sorted(by_mode.items())),
        "rows_by_archetype": dict(sorted(by_arch.items())),
        "rows_per_device": {k: d.rows for k, d in sorted(devices.items())},
    }


def _device_metrics(d: Device) -> dict[str, float | None]:
    days = max(1, len(d.days))
    if d.mode == "MOBILE":
        return {
            "liters_per_km": round(d.outflow / d.km, 3) if d.km > 0 else None,
            "mobile_nrw_liters": round(d.loss, 1),
            "km": round(d.km, 1),
            "delivered_liters": round(d.outflow, 1),
        }
    daily_out = d.outflow / days
    return {
        "runout_prob": round(len(d.runout_days) / days, 4),
        "autonomy_days_est": round((d.liters_sum / d.rows) / daily_out, 3)
        if daily_out > 0
        else None,
        "supply_fragmentation_index": round(d.supply_events / (d.inflow / 1000.0), 3)
        if d.inflow > 0
        else None,
        "supply_events": d.supply_events,
    }


def metrics(devices: dict[str, Device]) -> dict[str, Any]:
    per_device: dict[str, dict[str, Any]] = {
        k: {"archetype": d.archetype, **_device_metrics(d)} for k, d in sorted(devices.items())
    }
    by_arch: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for m in per_device.values():
        for name, value in m.items():
            if name != "archetype" and value is not None:
                by_arch[m["archetype"]][name].append(value)
    # an archetype's figure is the mean over its devices; a count's mean is named as one
    # (`supply_events` 52 per device, `supply_events_per_device` 52.0 per archetype)
    means = {
        arch: {
            (f"{name}_per_device" if name in COUNTS else name): round(sum(v) / len(v), 4)
            for name, v in sorted(values.items())
        }
        for arch, values in sorted(by_arch.items())
    }
    return {"by_archetype": means, "by_device": per_device}
