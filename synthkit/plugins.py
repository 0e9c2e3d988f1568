"""The typed facade over the plugin manager: the only place the core calls hooks, one
method per kind of record (:mod:`synthkit.loading` finds, registers and collects them).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from synthkit.errors import ConfigError, PluginError, article
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
    EventType,
    Family,
    PreflightCheck,
    SinkSpec,
    SourceSpec,
    TransformSpec,
)

if TYPE_CHECKING:  # pydantic loads when a sink is built, not at start-up
    from synthkit.contracts import Sink, SinkOptions, Target
    from synthkit.ledger import Ledger
    from synthkit.pipeline import RunPlan
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


class Plugins(PluginLoader):
    """The plugin manager and the one typed call site for every hook."""

    # ----------------------------------------------------------------- the typed facade

    def families(self) -> dict[str, Family]:
        return self._collect("families")

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

    def claimants(self, attr: str) -> dict[str, list[SinkSpec]]:
        """Each claim of ``attr`` (``"extensions"``: file endings, ``"schemes"``: URL schemes)
        -> the sinks making it, synthkit's own first, then by name. The first takes it; the
        others are reached by ``--sink NAME`` only, so a partner's sink never changes what a
        built-in command does (``synthkit plugins`` lists every contested claim)."""

        def precedence(spec: SinkSpec) -> tuple[bool, str]:
            return self.source_of("sinks", spec.name).split(" ")[0] != "synthkit", spec.name

        out: dict[str, list[SinkSpec]] = {}
        for spec in sorted(self.sinks().values(), key=precedence):
            for claim in getattr(spec, attr):
                out.setdefault(claim.lower(), []).append(spec)
        return out

    def contested(self) -> list[str]:
        """One line per claim two sinks make: who takes it, how to reach the other."""
        lines = []
        for attr, shape in (("extensions", "file ending {!r}"), ("schemes", "URL scheme '{}://'")):
            for claim, (first, *others) in self.claimants(attr).items():
                for other in others:
                    lines.append(
                        f"{shape.format(claim)} is claimed by sink {first.name!r} ({self.source_of('sinks', first.name)}) "
                        f"and by sink {other.name!r} ({self.source_of('sinks', other.name)}): {first.name!r} takes it; "
                        f"give --sink {other.name} to use the other"
                    )
        return lines

    def _taken(self, claim: str, specs: list[SinkSpec]) -> SinkSpec:
        """The sink that takes a claim, said once on stderr when others make it too."""
        if len(specs) > 1 and claim not in self._said:
            self._said.add(claim)
            from synthkit.console import stderr

            others = ", ".join(s.name for s in specs[1:])
            stderr().print(
                f"[yellow]note:[/] {claim} is claimed by sinks {specs[0].name} and {others}; using "
                f"{specs[0].name} (give --sink {specs[1].name} for the other)",
                highlight=False,
                soft_wrap=True,
            )
        return specs[0]

    def sink(
        self, name: str, kinds: str | tuple[str, ...], *, needed_by: str, fix: str = ""
    ) -> SinkSpec:
        """The sink ``name``, which must be of one of ``kinds`` (what ``needed_by`` can drive):
        an unknown name lists those kinds' sinks, one of another kind says so."""
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        wanted = " or ".join(kinds)
        of_kind = {n: s for n, s in self.sinks().items() if s.kind in kinds}
        spec = self.sinks().get(_key(name))
        if spec is not None and spec.kind not in kinds:
            raise PluginError(
                f"sink {spec.name!r} is {article(spec.kind)} sink; {needed_by} needs {article(wanted)} sink "
                f"({wanted} sinks: {', '.join(sorted(of_kind)) or 'none installed'})",
                hint=fix or f"pick {article(wanted)} sink",
            )
        return lookup(
            of_kind, name, f"{wanted} sink", fix=fix or "see `synthkit plugins` for sinks"
        )

    def output_sink(
        self,
        out: str | os.PathLike[str] | None,
        name: str | None = None,
        *,
        kinds: tuple[str, ...] = ("file",),
        needed_by: str,
    ) -> SinkSpec:
        """The sink ``--sink NAME`` names, else the one ``out`` implies: a URL's scheme
        (``http://...``) picks the ingest sink claiming it, a file name its ending."""
        if name:
            return self.sink(name, kinds, needed_by=needed_by)
        if out is None:
            raise ConfigError(f"{needed_by} needs --out or --sink", hint="e.g. --out events.jsonl")
        text = os.fspath(out)
        scheme, sep, _ = text.partition("://")
        if sep and scheme.isalpha():
            claimant = self.url_sink(text)
            if "ingest" in kinds and claimant is not None:
                return claimant
            claimed = sorted(
                f"{x}://" for s in self.sinks().values() if s.kind == "ingest" for x in s.schemes
            )
            from synthkit.secrets import hide_in_url

            raise ConfigError(
                f"{needed_by} cannot deliver to {hide_in_url(text)!r}: no sink it can drive takes {scheme}:// URLs",
                hint=f"URL sinks: {', '.join(claimed) or 'none installed'}; or give --out a file name",
            )
        return self.file_sink(out)

    def url_sink(self, url: str) -> SinkSpec | None:
        """The ingest sink that claims ``url``'s scheme (``http`` for ``http://...``;
        ``postgresql`` for ``postgresql+psycopg://...``), if any."""
        scheme = url.partition("://")[0].lower()
        claims = self.claimants("schemes")
        for claim in (scheme, scheme.split("+")[0]):
            specs = [s for s in claims.get(claim, ()) if s.kind == "ingest"]
            if specs:
                return self._taken(f"{claim}://", specs)
        return None

    def ledger(self, url: str, sink: str | None = None) -> Ledger:
        """What the ingest sink ``sink`` stored at ``url`` (``SinkSpec.ledger``); without a
        name, the sink claiming the URL's scheme, else the only ingest sink with a ledger."""
        if sink is not None:
            spec = self.sink(
                sink, "ingest", needed_by="reconcile", fix="give --sink an ingest sink"
            )
        else:
            claimant = self.url_sink(url)
            having = [
                s for s in self.sinks().values() if s.kind == "ingest" and s.ledger is not None
            ]
            if claimant is not None and claimant.ledger is not None:
                spec = claimant
            elif len(having) == 1:
                spec = having[0]
            else:
                raise ConfigError(
                    "no ingest sink to read stored rows from"
                    if not having
                    else f"several ingest sinks can say what they stored ({', '.join(s.name for s in having)})",
                    hint="give --sink NAME, or --stored FILE with the stored (client, seq) pairs",
                )
        if spec.ledger is None:
            raise ConfigError(
                f"sink {spec.name!r} cannot say what it stored",
                hint="export the stored (client, seq) pairs and give them as --stored FILE",
            )
        ledger = spec.ledger(url)
        from synthkit.ledger import Ledger as LedgerBase

        if not isinstance(ledger, LedgerBase):
            raise PluginError(
                f"sink {spec.name!r}: its ledger returned {type(ledger).__name__}, not a synthkit.api.Ledger"
            )
        return ledger

    def file_sink(self, out: str | os.PathLike[str], fmt: str | None = None) -> SinkSpec:
        """The file sink named by ``fmt`` (a ``--format`` flag), else the one that claims
        the longest ending of ``out``'s name (``.jsonl.gz`` before ``.gz``); an error
        listing what exists otherwise."""
        sinks = {name: s for name, s in self.sinks().items() if s.kind == "file"}
        if fmt:
            return lookup(sinks, fmt, "format", fix=f"use --format {' or '.join(sorted(sinks))}")
        filename = os.path.basename(os.fspath(out)).lower()
        claims = sorted(
            (
                (ext, [s for s in specs if s.kind == "file"])
                for ext, specs in self.claimants("extensions").items()
            ),
            key=lambda claim: -len(claim[0]),
        )
        for ext, specs in claims:
            if specs and filename.endswith(ext) and len(filename) > len(ext):
                return self._taken(f"the file ending {ext}", specs)
        claimed = ", ".join(sorted(ext for ext, specs in claims if specs))
        raise PluginError(
            f"cannot tell the format of {os.fspath(out)!r} from its name",
            hint=f"end it with one of {claimed or 'none installed'}, or give --sink {'/'.join(sorted(sinks))}",
        )

    def open_sink(
        self,
        spec: SinkSpec,
        target: Target,
        options: SinkOptions | Iterable[str] | Mapping[str, Any] = (),
        plan: RunPlan | None = None,
        chain: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> Sink:
        """The sink ``spec`` builds for ``target`` (of its kind), with ``options`` (the
        ``--sink-option KEY=VALUE`` flags) checked by its options model, behind the
        command's ``--transform`` chain (or ``chain``: names and option pairs, a run
        record's) and inside the run's life cycle (``plan``)."""
        from synthkit.contracts import make_sink
        from synthkit.pipeline import RunPlan, piped

        sink = make_sink(spec, target, options)
        return piped(
            self, sink, replace(plan or RunPlan(command="synthkit"), sink=spec.name), chain
        )

    def transforms(self) -> dict[str, TransformSpec]:
        return self._collect("transforms")

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


def _key(name: str) -> str:
    """A name as the registries hold it (``Hard-Braking `` -> ``hard_braking``), for lookups."""
    return name.strip().lower().replace("-", "_")


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


_active: contextvars.ContextVar[Plugins | None] = contextvars.ContextVar(
    "synthkit_plugins", default=None
)


@functools.lru_cache(maxsize=1)
def _process_plugins() -> Plugins:
    return build_plugins()


def get_plugins() -> Plugins:
    """The manager in use: the one :func:`using` installed, else the process-wide one, built
    on first use (no work at import time)."""
    active = _active.get()
    return active if active is not None else _process_plugins()


@contextlib.contextmanager
def using(plugins: Plugins) -> Iterator[Plugins]:
    """Make ``plugins`` the manager :func:`get_plugins` returns inside the block."""
    token = _active.set(plugins)
    try:
        yield plugins
    finally:
        _active.reset(token)


def lookup(mapping: dict[str, R], name: str, kind: str, *, fix: str) -> R:
    """Look a record up by name, with an error that lists what exists."""
    key = _key(name)
    if key not in mapping:
        known = ", ".join(sorted(mapping)) or "none installed"
        raise PluginError(f"unknown {kind} {name!r} (known: {known})", hint=fix)
    return mapping[key]
