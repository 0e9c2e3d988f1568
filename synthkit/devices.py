"""How a family's declared devices resolve: archetype -> device model -> parameters, device
groups expanded, every problem located (``file:line: field: message (fix)``, with "did you
mean" for a misspelt archetype or parameter). One rule for every family: a family reads its
own scenario section, hands each entry over as a :class:`Declared`, and gets back one
:class:`Resolved` per device; what only it knows (a route, a cadence) it checks in ``check``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from synthkit.parameters import ParameterError, resolve_parameters

if TYPE_CHECKING:
    from synthkit.located import Problems
    from synthkit.plugins import Plugins
    from synthkit.records import Archetype, DeviceModel
    from synthkit.yamlfile import Loc

# a stream id is also an MQTT client id, a topic level and an ingestion key
ID_CHARACTERS = "letters, digits and _ . : - only"
GROUP_FIELD = re.compile(r"\{n(:[^{}]*)?\}")


def id_rule(max_length: int) -> re.Pattern[str]:
    """Upper-case letters and digits first, then those and ``_ . : -``, at most ``max_length``."""
    return re.compile(rf"^[A-Z0-9][A-Z0-9_.:-]{{0,{max_length - 1}}}$")


def group_ids(pattern: str, first: int, count: int) -> list[str]:
    """The ids ``pattern`` (``{n}`` or ``{n:05d}`` once) gives for ``first .. first+count-1``,
    upper-cased."""
    return [pattern.format(n=n).upper() for n in range(first, first + count)]


def check_pattern(pattern: str, rule: re.Pattern[str], max_length: int) -> str:
    """A pydantic validator's body for an ``id_pattern``: it must hold ``{n}`` once and give
    an id for n=1."""
    if len(GROUP_FIELD.findall(pattern)) != 1:
        raise ValueError("must contain {n} (or a format such as {n:05d}) exactly once")
    try:
        sample = pattern.format(n=1)
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"is not a valid pattern: {exc}") from None
    if not rule.match(sample.upper()):
        shown = f"{sample[:40]!r}{'...' if len(sample) > 40 else ''}"
        raise ValueError(
            f"gives {shown} (n=1), which is not a device id: {ID_CHARACTERS}, "
            f"at most {max_length} characters"
        )
    return pattern


@dataclass(frozen=True)
class Declared:
    """One entry of a family's device list: a device, or a group of ``ids`` (then
    ``ids_field`` names the field that made them, where a bad id is reported, and ``first``
    the number of the first one)."""

    loc: Loc
    archetype: str
    ids: Sequence[str]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    mode: str | None = None  # None: the archetype's
    group: str | None = None
    ids_field: str | None = None
    first: int = 1
    entry: Any = None  # the family's own parsed entry, handed back in Resolved


class DeviceEntry(BaseModel):
    """What a family's device entry holds beside its own id field (``meter_id: str | None``,
    say, added by the family's subclass): an archetype, parameter overrides, and for a group
    an ``id_pattern`` (``{n}`` or ``{n:05d}`` once) with ``count`` ids from ``first``. Hand
    each to :func:`declare`."""

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, frozen=True, str_strip_whitespace=True
    )

    archetype: str
    id_pattern: str | None = None
    count: int = Field(1, ge=1, le=1_000_000)
    first: int = Field(1, ge=0)
    parameter_overrides: dict[str, Any] = Field(default_factory=dict)


def declare(
    loc: Loc,
    entry: DeviceEntry,
    own_id: str | None,
    id_field: str,
    problems: Problems,
    *,
    max_length: int = 128,
) -> Declared | None:
    """``entry``'s devices as :func:`resolve_devices` takes them: its own id (``own_id``, the
    value of the family's ``id_field``) or a group, one of the two; None after adding a
    located problem."""
    if (own_id is None) == (entry.id_pattern is None):
        problems.add(loc, f"give {id_field}, or id_pattern and count", "one of the two")
        return None
    if entry.id_pattern is None:
        return Declared(loc, entry.archetype, [str(own_id)], entry.parameter_overrides, entry=entry)
    try:
        check_pattern(entry.id_pattern, id_rule(max_length), max_length)
    except ValueError as exc:
        problems.add((*loc, "id_pattern"), str(exc))
        return None
    ids = group_ids(entry.id_pattern, entry.first, entry.count)
    return Declared(
        loc,
        entry.archetype,
        ids,
        entry.parameter_overrides,
        ids_field="id_pattern",
        first=entry.first,
        entry=entry,
    )


@dataclass(frozen=True)
class Resolved:
    """One device, ready for the family's engine."""

    device_id: str
    declared: Declared
    archetype: Archetype
    model: DeviceModel
    mode: str
    params: BaseModel | dict[str, Any]

    @property
    def facts(self) -> dict[str, Any]:
        """What dry-run says of it beside its archetype and model (a ``FleetDevice``): none."""
        return {}


# (declared, archetype, model, mode) -> False when the family added problems: leave it out
Check = Callable[["Declared", "Archetype", "DeviceModel", str], bool]


def resolve_devices(
    declared: Iterable[Declared],
    *,
    family: str,
    plugins: Plugins,
    problems: Problems,
    required_columns: Sequence[str] = (),
    check: Check | None = None,
    rule: re.Pattern[str] | None = None,
    max_length: int = 128,
) -> list[Resolved]:
    """Every device of ``declared``, in order; each problem goes to ``problems`` at its
    entry's field, and the entry is left out (the caller raises them together)."""
    archetypes = plugins.archetypes()
    every_model = plugins.device_models()
    models = plugins.device_models(family=family)
    rule = rule or id_rule(max_length)
    devices: list[Resolved] = []
    seen: dict[str, Loc] = {}
    for entry in declared:
        found = _archetype_and_model(entry, family, archetypes, models, every_model, problems)
        if found is None:
            continue
        arch, model, mode = found
        unfit = _unfit(arch, model, family, required_columns, plugins)
        if unfit:
            problems.add(
                (*entry.loc, "archetype"),
                unfit,
                "report it to the plugin's authors, or pick another archetype",
            )
            continue
        if check is not None and not check(entry, arch, model, mode):
            continue
        try:
            params = resolve_parameters(model, arch, entry.overrides)
        except ParameterError as exc:
            for key, message in exc.items:
                where: Loc = (*entry.loc, "parameter_overrides")
                if key in entry.overrides:
                    where = (*where, key)  # the location names the parameter
                elif key:  # the archetype's own default is bad: the plugin's fault
                    message = f"{key}: {message} (default of archetype {arch.name!r})"
                problems.add(where, message)
            continue
        if entry.ids_field is not None:
            bad = next((i for i, d in enumerate(entry.ids) if not rule.match(d)), None)
            if bad is not None:  # every id, not only the first: {n:,} gives Z-1,000 at n=1000
                shown = entry.ids[bad]
                problems.add(
                    (*entry.loc, entry.ids_field),
                    f"gives {shown[:60]!r}{'...' if len(shown) > 60 else ''} "
                    f"(n={entry.first + bad}), which is not a device id",
                    f"ids are {ID_CHARACTERS}, at most {max_length} characters",
                )
                continue
        for device_id in entry.ids:
            if device_id in seen:
                problems.add(
                    entry.loc,
                    f"device_id {device_id!r} is already declared at {problems.doc.where(seen[device_id])}",
                    "device ids must be unique (after upper-casing)",
                )
                continue
            seen[device_id] = entry.loc
            devices.append(Resolved(device_id, entry, arch, model, mode, params))
    return devices


def _archetype_and_model(
    entry: Declared,
    family: str,
    archetypes: Mapping[str, Archetype],
    models: Mapping[str, DeviceModel],
    every_model: Mapping[str, DeviceModel],
    problems: Problems,
) -> tuple[Archetype, DeviceModel, str] | None:
    arch = archetypes.get(entry.archetype)
    if arch is None:
        mine = sorted(a for a, rec in archetypes.items() if rec.model in models)
        close = difflib.get_close_matches(entry.archetype, mine, n=1)
        fix = (
            f"did you mean {close[0]!r}?"
            if close
            else f"known: {', '.join(mine) or 'none installed'}"
        )
        problems.add((*entry.loc, "archetype"), f"unknown archetype {entry.archetype!r}", fix)
        return None
    mode = entry.mode or arch.mode
    if mode != arch.mode:
        problems.add(
            (*entry.loc, "mode"),
            f"archetype {arch.name!r} is {arch.mode}, not {mode}",
            f"set mode: {arch.mode} or pick a {mode} archetype",
        )
        return None
    model = models.get(arch.model)
    if model is None:
        other = every_model.get(arch.model)
        why = (
            f"which is a {other.family or 'family-less'} model, not a {family} one"
            if other
            else "which no installed plugin provides"
        )
        problems.add(
            (*entry.loc, "archetype"),
            f"archetype {arch.name!r} needs device model {arch.model!r}, {why}",
            f"pick a {family} archetype" if other else "install the plugin that provides it",
        )
        return None
    return arch, model, mode


def _unfit(
    arch: Archetype,
    model: DeviceModel,
    family: str,
    required_columns: Sequence[str],
    plugins: Plugins,
) -> str:
    """Why an archetype cannot run on its model (a plugin's mistake, not the scenario's)."""
    if arch.mode != model.mode:
        return (
            f"archetype {arch.name!r} ({plugins.source_of('archetypes', arch.name)}) is {arch.mode}, "
            f"but its device model {model.name!r} is {model.mode}"
        )
    declared = {c.name for c in model.columns}
    missing = [c for c in required_columns if c not in declared]
    if missing:
        return (
            f"device model {model.name!r} ({plugins.source_of('device_models', model.name)}) does not "
            f"declare the column(s) the {family} payload needs: {', '.join(missing)} (DeviceModel.columns)"
        )
    return ""
