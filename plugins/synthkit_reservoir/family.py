"""The reservoir family: its modes, the rules each mode puts on a scenario device, and the
columns its payload needs from every device model. One copy of each, read by the scenario
schema, the resolver, the row layout and the database checks."""

from __future__ import annotations

from dataclasses import dataclass

from synthkit.api import Family

NAME = "reservoir"


@dataclass(frozen=True)
class ModeRule:
    """What a device of one mode may or must declare."""

    route: bool  # True: route_id is required; False: it is refused
    dynamics: bool  # demand/supply dynamics allowed
    dynamics_fix: str = "remove it"


MODE_RULES: dict[str, ModeRule] = {
    "STATIONARY": ModeRule(route=False, dynamics=True),
    "MOBILE": ModeRule(
        route=True, dynamics=False, dynamics_fix="remove it; tune a truck with parameter_overrides"
    ),
}
MODES = tuple(MODE_RULES)

# every model of the family emits these (the section 10 payload is built from them)
REQUIRED_COLUMNS = ("raw_readings", "temperature_c", "battery_percentage", "signal_strength_dbm")


# what the core's commands call; each loads its module (the schema, the engine and its
# kernels) only when a command needs it


def _replay(record, plugins):  # a RunRecord
    from synthkit_reservoir.replay import ReservoirReplayer

    return ReservoirReplayer(record, plugins)


def _payloads():  # the section 10 payload, by the compiled template encoder
    from synthkit_reservoir.payload import mqtt_payloads

    return mqtt_payloads()


def _load(path, plugins):
    from synthkit_reservoir.scenario import load_scenario

    return load_scenario(path, plugins)


def _preview(loaded, start_s, steps, state_file):
    from synthkit_reservoir.preview import preview_samples

    return preview_samples(loaded, start_s, steps, state_file)


def _preflight(plugins, loaded, url, strict):
    from synthkit_reservoir.preflight_db import db_preflight

    return db_preflight(plugins, loaded, url, strict=strict)


FAMILY = Family(
    NAME,
    MODES,
    description="water-reservoir fleets: stationary tanks and mobile trucks with ultrasonic level sensors",
    replay=_replay,
    section="devices",
    load=_load,
    preview=_preview,
    preflight=_preflight,
    payloads=_payloads,
)


def mode_problems(mode: str, has_route: bool, has_dynamics: bool) -> list[tuple[str, str, str]]:
    """(field, message, fix) for each rule of ``mode`` a device breaks."""
    rule = MODE_RULES[mode]
    found = []
    if rule.route and not has_route:
        found.append(("route_id", f"route_id is required when mode is {mode}", "add it"))
    if not rule.route and has_route:
        needs = "/".join(m for m, r in MODE_RULES.items() if r.route)
        found.append(("route_id", f"route_id only applies to {needs} devices", "remove it"))
    if not rule.dynamics and has_dynamics:
        allowed = "/".join(m for m, r in MODE_RULES.items() if r.dynamics)
        found.append(("dynamics", f"dynamics only applies to {allowed} devices", rule.dynamics_fix))
    return found
