"""A scenario's ``faults:`` block, validated and compiled against its fleet: every problem
located (file:line, the field, the fix), an unknown type, parameter, device, group or
archetype with a "did you mean"; each entry's devices resolved (and its seeded share drawn)
once, so applying it is a lookup per row."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from pydantic import BaseModel, ValidationError

from synthkit.faults import (
    SELECTOR_TAGS,
    CompiledFault,
    DeviceSelector,
    Fault,
    FaultEntry,
    FaultPlan,
    block_sha256,
    fault_key,
)
from synthkit.located import Problems, explain_error, known_fields, validate_section
from synthkit.rand import stable_key, uniforms
from synthkit.sink_build import call_factory

if TYPE_CHECKING:
    from synthkit.fault_type import FaultType
    from synthkit.plugins import Plugins
    from synthkit.records import Family
    from synthkit.yamlfile import Loc, YamlDocument

NO_FAULTS = FaultPlan((), (), "")


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class Selectable(Protocol):
    """What a faults block selects devices by: an id, an archetype's name and, when the
    family has them, a ``group`` (a scenario's ``synthkit.api.FleetDevice`` is one)."""

    @property
    def device_id(self) -> str: ...
    @property
    def archetype(self) -> _Named: ...


def compile_faults(
    doc: YamlDocument,
    problems: Problems,
    devices: Sequence[Selectable],
    *,
    family: Family,
    plugins: Plugins,
    seed: int,
    at: Loc = ("faults",),
) -> FaultPlan:
    """The block at ``at`` of ``doc`` (none: no faults) for ``family``'s fleet of
    ``devices``, each problem added to ``problems``."""
    raw: Any = doc.data
    for part in at:
        raw = raw.get(part) if isinstance(raw, dict) else None
    if raw is None:
        return NO_FAULTS
    if not isinstance(raw, list):
        problems.add(at, "must be a list of faults", "write one `- type: NAME` entry per fault")
        return NO_FAULTS
    types = plugins.fault_types()
    fleet = _Fleet(devices)
    compiled, names = [], set()
    for index in range(len(raw)):
        loc = (*at, index)
        entry = validate_section(doc, FaultEntry, problems, at=loc, union_tags=SELECTOR_TAGS)
        if entry is None:
            continue
        spec = _type_of(entry, types, family.name, problems, loc)
        streams = fleet.select(entry.devices, problems, (*loc, "devices"), seed, index)
        name = entry.name or f"{entry.type}-{index + 1}"
        if name in names:
            problems.add((*loc, "name"), f"fault name {name!r} is used twice", "give each a name")
        names.add(name)
        built = _built(spec, entry, problems, loc) if spec is not None else None
        if built is not None and streams is not None:
            key = fault_key(seed, index, name)
            compiled.append(
                CompiledFault(index, name, entry.type, entry, streams, built[0], key, built[1])
            )
    columns = (family.stream_column, family.seq_column, family.time_column)
    return FaultPlan(tuple(compiled), tuple(raw), block_sha256(raw), columns)


def _type_of(
    entry: FaultEntry, types: dict[str, FaultType], family: str, problems: Problems, loc: Loc
) -> FaultType | None:
    spec = types.get(entry.type)
    if spec is None:
        close = difflib.get_close_matches(entry.type, list(types), n=1)
        problems.add(
            (*loc, "type"),
            f"unknown fault type {entry.type!r}",
            f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(types))}",
        )
    elif spec.families and family not in spec.families:
        problems.add(
            (*loc, "type"),
            f"fault type {entry.type!r} applies to {', '.join(spec.families)} fleets, not {family}",
            "pick a fault type of this family (`synthkit plugins` lists them)",
        )
        return None
    return spec


def _built(
    spec: FaultType, entry: FaultEntry, problems: Problems, loc: Loc
) -> tuple[Fault, BaseModel] | None:
    """The type's fault from the entry's parameters, each bad one located."""
    from synthkit.errors import PluginError
    from synthkit.fault_params import FaultParams

    model = spec.params or FaultParams
    try:
        params = model.model_validate(entry.params)
    except ValidationError as exc:
        known = known_fields(model)
        for details in exc.errors(include_url=False):
            err: dict[str, Any] = dict(details)
            where = (*loc, *err["loc"])
            message, fix = explain_error(err, where, known)
            if err["type"] == "extra_forbidden":
                message = f"unknown parameter of fault type {spec.name!r}"
                fix = (
                    fix
                    if "did you mean" in fix
                    else f"its parameters: {', '.join(known) or 'none'}"
                )
            problems.add(where, message, fix)
        return None
    fault = call_factory(f"fault type {spec.name!r}", spec.factory, ("params", params))
    if not isinstance(fault, Fault):
        raise PluginError(
            f"fault type {spec.name!r}: its factory returned a {type(fault).__name__}, not a synthkit.api.Fault"
        )
    return fault, params


class _Fleet:
    """The fleet's ids, groups and archetypes, for selectors."""

    def __init__(self, devices: Sequence[Selectable]) -> None:
        self.ids = [d.device_id for d in devices]
        self.by: dict[str, dict[str, list[str]]] = {"group": {}, "archetype": {}}
        for d in devices:
            group = getattr(d, "group", None)
            if group:
                self.by["group"].setdefault(str(group), []).append(d.device_id)
            self.by["archetype"].setdefault(d.archetype.name, []).append(d.device_id)

    def select(
        self,
        given: DeviceSelector | list[str] | str,
        problems: Problems,
        loc: Loc,
        seed: int,
        index: int,
    ) -> frozenset[str] | None:
        """The streams an entry's ``devices`` names (None after adding a located problem)."""
        if isinstance(given, str):
            if given.strip().lower() != "all":
                problems.add(
                    loc,
                    f"{given!r} is not a device selector",
                    "write all, a list of ids, or a mapping of ids, group, archetype, share",
                )
                return None
            return frozenset(self.ids)
        before = len(problems.lines)
        listed = not isinstance(given, DeviceSelector)
        selector = given if isinstance(given, DeviceSelector) else DeviceSelector(ids=tuple(given))
        id_loc = loc if listed else (*loc, "ids")
        chosen = self._ids(selector.ids, problems, id_loc)
        for field in ("group", "archetype"):
            chosen += self._members(field, getattr(selector, field), problems, loc)
        if len(problems.lines) > before:  # an unknown id, group or archetype: located above
            return None
        if not (selector.ids or selector.group or selector.archetype):
            chosen = list(self.ids)
        if selector.share is not None:  # the seed picks: the same devices for every command
            keys = np.array([stable_key("fault share", seed, index, d) for d in chosen], np.uint64)
            chosen = [d for d, u in zip(chosen, uniforms(keys, 0)) if u < selector.share]
        return frozenset(chosen)

    def _ids(self, ids: Sequence[str], problems: Problems, loc: Loc) -> list[str]:
        known, chosen = set(self.ids), []
        for i, device_id in enumerate(ids):
            upper = device_id.strip().upper()
            if device_id in known or upper in known:
                chosen.append(device_id if device_id in known else upper)
                continue
            close = difflib.get_close_matches(upper, self.ids, n=1)
            problems.add(
                (*loc, i),
                f"no device {device_id!r} in this scenario",
                f"did you mean {close[0]!r}?" if close else "name a device the scenario declares",
            )
        return chosen

    def _members(
        self, field: str, values: Sequence[str], problems: Problems, loc: Loc
    ) -> list[str]:
        by, chosen = self.by[field], []
        for i, value in enumerate(values):
            members = by.get(value) or by.get(value.lower().replace("-", "_"))
            if members is not None:
                chosen += members
                continue
            close = difflib.get_close_matches(value, list(by), n=1)
            problems.add(
                (*loc, field, i),
                f"no {field} {value!r} in this scenario",
                f"did you mean {close[0]!r}?"
                if close
                else f"known: {', '.join(sorted(by)) or 'none'}",
            )
        return chosen
