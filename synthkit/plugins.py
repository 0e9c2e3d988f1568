"""The typed facade over the plugin manager: the only place the core calls hooks, one
method per kind of record and one per life-cycle hook (:mod:`synthkit.loading` finds,
registers and collects; :mod:`synthkit.sink_lookup` chooses a sink).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from synthkit.events import EventType
from synthkit.fault_type import FaultType
from synthkit.loading import (  # noqa: F401 - re-exported: where callers have always found them
    ENV_ALLOW,
    ENV_BLOCK,
    ENV_STRICT,
    ENV_TRACE,
    GROUP,
    KINDS,
    LoadFailure,
    PluginLoader,
)
from synthkit.records import (
    Archetype,
    Command,
    DeviceModel,
    Family,
    PreflightCheck,
    SinkSpec,
    SourceSpec,
    TransformSpec,
)
from synthkit.sink_lookup import SinkLookup, lookup

if TYPE_CHECKING:  # pydantic loads when a sink is built, not at start-up
    from synthkit.ledger import Ledger
    from synthkit.run import RunPlan
    from synthkit.sources import Source, SourceTarget

R = TypeVar("R")


@dataclass
class PluginInfo:
    """One registered plugin and where it came from."""

    name: str
    distribution: str
    version: str
    module: str
    registers: dict[str, list[str]] = field(default_factory=dict)


class Plugins(SinkLookup, PluginLoader):
    """The plugin manager and the one typed call site for every hook."""

    # ----------------------------------------------------------------- the typed facade

    def families(self) -> dict[str, Family]:
        return self._collect("families")

    def sink_for_topic(self, subscription: str) -> str | None:
        """The ingest sink of the family whose topic ``subscription`` is (``Family.topic``
        with each ``{...}`` level a ``+``, and ``Family.ingest_sink``), else None."""
        from synthkit.runs import topic_filter

        for family in self.families().values():
            if family.topic and family.ingest_sink and topic_filter(family.topic) == subscription:
                return family.ingest_sink
        return None

    def ledger(self, url: str, sink: str | None = None, records: Sequence[Any] = ()) -> Ledger:
        """What a store holds (``SinkLookup.ledger``); without a sink named and given run
        ``records`` all of one family that keeps its records in tables of its own
        (``Family.ledger``), those tables."""
        from synthkit.sink_lookup import checked_ledger

        kinds = {r.family for r in records}
        family = self.families().get(kinds.pop()) if len(kinds) == 1 and sink is None else None
        if family is not None and family.ledger is not None:
            return checked_ledger(f"family {family.name!r}", family.ledger(url))
        return super().ledger(url, sink)

    def device_models(self, family: str | None = None) -> dict[str, DeviceModel]:
        """Every device model, or ``family``'s; a model whose family is missing or that
        claims a mode its family lacks is reported and its plugin left out."""
        while True:
            families, models = self.families(), self._collect("device_models")
            owners = self._cache["device_models:owners"]
            problems = ((m.name, _family_problem(m, families)) for m in models.values())
            bad = next(((name, why) for name, why in problems if why), None)
            if bad is None:
                break
            self._leave_out(owners[bad[0]], f"device model {bad[0]!r}: {bad[1]}")
        if family is None:
            return models
        return {name: m for name, m in models.items() if m.family == family}

    def archetypes(self) -> dict[str, Archetype]:
        return self._collect("archetypes")

    def event_types(self) -> dict[str, EventType]:
        return self._collect("event_types")

    def sinks(self) -> dict[str, SinkSpec]:
        return self._collect("sinks")

    def transforms(self) -> dict[str, TransformSpec]:
        return self._collect("transforms")

    def fault_types(self) -> dict[str, FaultType]:
        return self._collect("fault_types")

    def sources(self) -> dict[str, SourceSpec]:
        return self._collect("sources")

    def open_source(
        self,
        name: str,
        target: SourceTarget,
        options: Iterable[str] = (),
        *,
        needed_by: str,
        fix: str = "",
    ) -> Source:
        """The source ``name`` built for ``target``, its options checked by its model."""
        from synthkit.sources import make_source

        spec = lookup(
            self.sources(),
            name,
            "source",
            fix=fix or f"{needed_by} needs a source plugin (see `synthkit plugins`)",
        )
        return make_source(spec, target, options)

    def checks(self) -> dict[str, PreflightCheck]:
        return self._collect("checks")

    def commands(self) -> dict[str, Command]:
        return self._collect("commands")

    # ------------------------------------------------------------- the run's life cycle

    def run_started(self, plan: RunPlan) -> None:
        self.pm.hook.synthkit_run_started(plan=plan)

    def run_finished(self, plan: RunPlan, summary: Mapping[str, Any]) -> None:
        self.pm.hook.synthkit_run_finished(plan=plan, summary=summary)

    def run_failed(self, plan: RunPlan, error: BaseException) -> None:
        self.pm.hook.synthkit_run_failed(plan=plan, error=error)

    def owner_of(self, exc: BaseException) -> str | None:
        """``"plugin 'x' (distribution d v, module m)"`` for the plugin whose code raised
        ``exc``, else None (see :func:`synthkit.attribution.owner_of`)."""
        from synthkit.attribution import owner_of

        return owner_of(exc, self.pm.list_name_plugin(), self._origin)

    def source_of(self, kind: str, name: str) -> str:
        """``"distribution version"`` of the plugin that registered ``name``."""
        self._collect(kind)
        plugin = self._cache[f"{kind}:owners"][name]
        dist, version = self._origin.get(plugin, ("(local)", ""))
        return f"{dist} {version}".strip()

    def plugin_infos(self) -> list[PluginInfo]:
        for kind in KINDS:  # first: a plugin whose hook raises is left out of the list
            self._collect(kind)
        self.device_models()  # and one whose model has no family to run it
        infos: dict[str, PluginInfo] = {}
        for plugin_name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            dist, version = self._origin.get(plugin_name, ("(local)", ""))
            module = getattr(plugin, "__name__", type(plugin).__name__)
            infos[plugin_name] = PluginInfo(plugin_name, dist, version, module)
        for kind in KINDS:
            self._collect(kind)
            for record_name, owner in self._cache[f"{kind}:owners"].items():
                if owner in infos:
                    infos[owner].registers.setdefault(kind, []).append(record_name)
        return sorted(infos.values(), key=lambda info: (info.distribution, info.name))


def _family_problem(model: DeviceModel, families: dict[str, Family]) -> str:
    """Why ``model`` cannot run, or "" when its family is installed and has its mode."""
    family = families.get(model.family)
    if family is None:
        known = ", ".join(sorted(families)) or "none installed"
        return (
            f"family {model.family!r} is not installed (families: {known}); set DeviceModel.family"
        )
    if model.mode not in family.modes:
        return f"mode {model.mode!r} is not one of family {family.name!r}'s ({', '.join(family.modes)})"
    return ""


def build_plugins(*, entry_points: bool = True) -> Plugins:
    """A fresh manager: with the installed entry points, or empty (for tests)."""
    plugins = Plugins()
    if entry_points:
        plugins.load_entry_points()
    return plugins
