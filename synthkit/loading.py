"""Plugin discovery, registration and collection: the machinery under the typed facade
(:mod:`synthkit.plugins`).

Loading follows conda and tox: every entry point of the ``synthkit`` group loads on its own;
a failure is recorded with the entry point's and the distribution's names and loading goes
on (``SYNTHKIT_STRICT_PLUGINS=1`` makes it fatal); ``check_pending()`` turns a misspelt hook
into an error. ``SYNTHKIT_PLUGINS`` (allow-list) and ``SYNTHKIT_DISABLE_PLUGINS`` (block-list)
take comma-separated entry point names; ``SYNTHKIT_TRACE_HOOKS=1`` traces hook calls to stderr.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import importlib_metadata
import pluggy

from synthkit import hookspecs
from synthkit.errors import PluginError
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
    normalise_name,
)

GROUP = "synthkit"
ENV_STRICT = "SYNTHKIT_STRICT_PLUGINS"
ENV_ALLOW = "SYNTHKIT_PLUGINS"
ENV_BLOCK = "SYNTHKIT_DISABLE_PLUGINS"
ENV_TRACE = "SYNTHKIT_TRACE_HOOKS"


# kind label -> (hook name, record type); the order is the order `synthkit plugins` shows.
KINDS: dict[str, tuple[str, type]] = {
    "families": ("synthkit_register_families", Family),
    "device_models": ("synthkit_register_device_models", DeviceModel),
    "archetypes": ("synthkit_register_archetypes", Archetype),
    "event_types": ("synthkit_register_event_types", EventType),
    "sinks": ("synthkit_register_sinks", SinkSpec),
    "transforms": ("synthkit_register_transforms", TransformSpec),
    "sources": ("synthkit_register_sources", SourceSpec),
    "checks": ("synthkit_register_checks", PreflightCheck),
    "commands": ("synthkit_register_commands", Command),
}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _env_names(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


@dataclass(frozen=True)
class LoadFailure:
    """An entry point that could not be loaded or registered."""

    entry_point: str
    value: str
    distribution: str
    version: str
    error: str

    def describe(self) -> str:
        return (
            f"plugin {self.entry_point!r} ({self.value}) from distribution "
            f"{self.distribution} {self.version} failed to load: {self.error}"
        )


class _Manager(pluggy.PluginManager):
    """Treats any ``synthkit_*`` function as a hook implementation (as pytest does with
    ``pytest_*``), so a forgotten decorator still works and a misspelt name is caught by
    ``check_pending()`` instead of being silently ignored."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("synthkit_"):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                return {}
        return opts


class PluginLoader:
    """The plugin manager: loads plugins and collects what each registers, attributed."""

    def __init__(self) -> None:
        self.pm = _Manager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.failures: list[LoadFailure] = []
        self._origin: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self._cache: dict[str, dict[str, Any]] = {}
        self._said: set[str] = set()  # contested claims already noted on stderr
        self._trace = _env_flag(ENV_TRACE)
        # called with each failure found after loading (a registration hook that raised);
        # the CLI prints it as the warning it prints for load failures
        self.on_failure: Callable[[LoadFailure], None] | None = None

    # ------------------------------------------------------------------------- loading

    def register(
        self, plugin: object, name: str, *, distribution: str = "(local)", version: str = ""
    ) -> None:
        """Register a module or object as a plugin (tests and embedding applications); a hook
        implementation no specification knows (a misspelt hook) fails here."""
        self._register(plugin, name, distribution, version)
        self.check_pending()

    def _register(self, plugin: object, name: str, distribution: str, version: str) -> None:
        taken = self.pm.get_plugin(name)
        if taken is not None:  # pluggy's own message dumps its whole registry
            dist, ver = self._origin.get(name, ("(local)", ""))
            raise PluginError(
                f"the plugin name {name!r} is taken by {dist} {ver}".rstrip()
                + f"'s {name!r} ({getattr(taken, '__name__', type(taken).__name__)})",
                hint=f"give the entry point of {distribution} another name",
            )
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name!r} from {distribution}: {exc}") from exc
        except ValueError:  # the same module under another name
            other = self.pm.get_name(plugin)
            raise PluginError(
                f"plugin {name!r} from {distribution} is already registered as {other!r}",
                hint="declare each module under one entry point",
            ) from None
        self._origin[name] = (distribution, version)
        self._cache.clear()

    def load_entry_points(
        self, entry_points: Iterable[importlib_metadata.EntryPoint] | None = None
    ) -> None:
        """Load every ``synthkit`` entry point, each on its own; then ``check_pending()``."""
        strict = _env_flag(ENV_STRICT)
        allow, block = _env_names(ENV_ALLOW), _env_names(ENV_BLOCK) or set()
        eps = (
            entry_points
            if entry_points is not None
            else importlib_metadata.entry_points(group=GROUP)
        )
        eps = list(eps)
        unknown = sorted((allow or set()) - {ep.name for ep in eps})
        if unknown:  # a typo would otherwise leave a CLI with no commands
            raise PluginError(
                f"{ENV_ALLOW} names plugin(s) that are not installed: "
                + ", ".join(repr(u) for u in unknown),
                hint="installed: " + ", ".join(sorted(ep.name for ep in eps)),
            )

        def precedence(ep: importlib_metadata.EntryPoint) -> tuple[bool, str]:
            dist = getattr(
                ep, "dist", None
            )  # synthkit's own first: a partner never takes a built-in's name
            return (dist is None or dist.name != "synthkit"), ep.name

        for ep in sorted(eps, key=precedence):
            if (allow is not None and ep.name not in allow) or ep.name in block:
                continue
            dist = getattr(ep, "dist", None)
            dist_name = dist.name if dist is not None else "(unknown distribution)"
            dist_version = dist.version if dist is not None else ""
            try:
                plugin = ep.load()
                self._register(plugin, ep.name, dist_name, dist_version)  # checked once, below
            except Exception as exc:
                failure = LoadFailure(
                    ep.name, ep.value, dist_name, dist_version, f"{type(exc).__name__}: {exc}"
                )
                if strict:
                    raise PluginError(
                        failure.describe(), hint=f"unset {ENV_STRICT} to skip it"
                    ) from exc
                self.failures.append(failure)
        # a misspelt hook leaves out its plugin only, like any other plugin failure
        for plugin_name, error in self._unknown_hooks():
            dist, version = self._origin.get(plugin_name, ("(unknown distribution)", ""))
            failure = LoadFailure(
                plugin_name,
                getattr(self.pm.get_plugin(plugin_name), "__name__", plugin_name),
                dist,
                version,
                error,
            )
            if strict:
                raise PluginError(failure.describe(), hint=f"unset {ENV_STRICT} to skip it")
            self.pm.unregister(name=plugin_name)
            self._cache.clear()
            self.failures.append(failure)

    def _unknown_hooks(self) -> list[tuple[str, str]]:
        """(plugin, why) for each implementation of a hook no specification knows."""
        import difflib

        known = [name for name in dir(hookspecs) if name.startswith("synthkit_")]
        found = []
        for name, caller in vars(self.pm.hook).items():
            if not isinstance(caller, pluggy.HookCaller) or caller.spec is not None:
                continue
            for impl in caller.get_hookimpls():
                close = difflib.get_close_matches(name, known, n=1)
                found.append(
                    (
                        impl.plugin_name,
                        f"unknown hook {name!r}"
                        + (
                            f" (did you mean {close[0]!r}?)"
                            if close
                            else " (the hooks are in synthkit.hookspecs, docs/plugins.md)"
                        ),
                    )
                )
        return found

    def check_pending(self) -> None:
        """A PluginError for the first implementation of an unknown hook (a misspelt name)."""
        for plugin_name, error in self._unknown_hooks():
            dist, _ = self._origin.get(plugin_name, ("(unknown distribution)", ""))
            raise PluginError(
                f"plugin {plugin_name!r} from {dist}: {error}",
                hint="check the hook name against synthkit.hookspecs (docs/plugins.md)",
            )

    def _collect(self, kind: str) -> dict[str, Any]:
        """Call one registration hook on every plugin, keeping who registered what.

        A plugin whose hook raises, or returns something other than the kind's record, is
        reported and left out whole (all its hooks), and the others are collected again; with
        ``SYNTHKIT_STRICT_PLUGINS=1`` it is fatal instead.
        """
        if kind not in self._cache:
            while True:
                try:
                    self._collect_once(kind)
                    break
                except _BrokenHook as broken:
                    self._leave_out(broken.plugin_name, broken.error)
        return self._cache[kind]

    def _leave_out(self, plugin_name: str, error: str) -> None:
        dist, version = self._origin.get(plugin_name, ("(local)", ""))
        plugin = self.pm.get_plugin(plugin_name)
        module = getattr(plugin, "__name__", type(plugin).__name__)
        failure = LoadFailure(plugin_name, module, dist, version, error)
        if _env_flag(ENV_STRICT):
            raise PluginError(failure.describe(), hint=f"unset {ENV_STRICT} to leave it out")
        self.pm.unregister(name=plugin_name)
        self.failures.append(failure)
        self._cache.clear()  # its records of other kinds go too
        if self.on_failure is not None:
            self.on_failure(failure)

    def _collect_once(self, kind: str) -> None:
        """Implementations are called one by one (rather than through ``pm.hook``) so that
        each record is attributed to its plugin: a duplicate name must name both distributions."""
        hook_name, record_type = KINDS[kind]
        caller = getattr(self.pm.hook, hook_name)
        records: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                continue
            plugin_name = impl.plugin_name
            dist, version = self._origin.get(plugin_name, ("(local)", ""))
            where = f"plugin {plugin_name!r} from {dist} {version}".rstrip()
            try:
                returned = impl.function(**{arg: None for arg in impl.argnames})
            except PluginError:
                raise
            except Exception as exc:
                raise _BrokenHook(
                    plugin_name, f"{hook_name} raised {type(exc).__name__}: {exc}"
                ) from exc
            if isinstance(returned, (str, bytes, Mapping)) or (
                returned is not None and not isinstance(returned, Iterable)
            ):
                raise _BrokenHook(
                    plugin_name,
                    f"{hook_name} returned {type(returned).__name__}, expected a list "
                    f"of {record_type.__name__}",
                )
            result = list(returned or ())
            if self._trace:
                print(f"synthkit: {hook_name} -> {plugin_name}: {result!r}", file=sys.stderr)
            wrong = next((r for r in result if not isinstance(r, record_type)), None)
            if wrong is not None:
                raise _BrokenHook(
                    plugin_name,
                    f"{hook_name} returned {type(wrong).__name__}, expected {record_type.__name__}",
                )
            for record in result:
                name = normalise_name(record.name)
                if name != record.name:
                    record = replace(record, name=name)
                if name in records:
                    first = owners[name]
                    d1, v1 = self._origin.get(first, ("(local)", ""))
                    raise PluginError(
                        f"{kind[:-1].replace('_', ' ')} {name!r} is registered twice: by plugin "
                        f"{first!r} from {d1} {v1} and by {where}".replace("  ", " "),
                        hint=f"uninstall one, or block one with {ENV_BLOCK}",
                    )
                records[name] = record
                owners[name] = plugin_name
        self._cache[kind] = records
        self._cache[f"{kind}:owners"] = owners


class _BrokenHook(Exception):
    def __init__(self, plugin_name: str, error: str) -> None:
        super().__init__(error)
        self.plugin_name, self.error = plugin_name, error
