"""Plugin discovery, registration and collection: the machinery under the typed facade
(:mod:`synthkit.plugins`).

Loading follows conda and tox: every entry point of the ``synthkit`` group loads on its own;
a failure is recorded with the entry point's and the distribution's names and loading goes
on (``SYNTHKIT_STRICT_PLUGINS=1`` makes it fatal); a misspelt hook leaves out its plugin.
``SYNTHKIT_PLUGINS`` (allow-list) and ``SYNTHKIT_DISABLE_PLUGINS`` (block-list) take
comma-separated entry point names; ``SYNTHKIT_TRACE_HOOKS=1`` traces hook calls to stderr
(pluggy's hook-call monitoring).

Hooks are called through ``pm.hook``, so ``tryfirst``/``trylast`` and wrappers work as pluggy
documents them. A registration hook's implementations are wrapped once, when their plugin
registers, so that what each returns (or raises) arrives attributed to its plugin: a
duplicate name names both distributions, and a broken hook leaves out its own plugin only.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import importlib_metadata
import pluggy

from synthkit import hookspecs
from synthkit.errors import PluginError
from synthkit.hookcalls import (
    KINDS,
    REGISTRATION,
    Attributed,
    BrokenHook,
    Registered,
    trace_after,
    trace_before,
)
from synthkit.records import (
    normalise_name,
)

GROUP = "synthkit"
ENV_STRICT = "SYNTHKIT_STRICT_PLUGINS"
ENV_ALLOW = "SYNTHKIT_PLUGINS"
ENV_BLOCK = "SYNTHKIT_DISABLE_PLUGINS"
ENV_TRACE = "SYNTHKIT_TRACE_HOOKS"


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
    ``pytest_*``), so a forgotten decorator still works and a misspelt name is caught
    instead of being silently ignored."""

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
        # called with each failure found after loading (a registration hook that raised);
        # the CLI prints it as the warning it prints for load failures
        self.on_failure: Callable[[LoadFailure], None] | None = None
        if _env_flag(ENV_TRACE):
            self.pm.add_hookcall_monitoring(trace_before, trace_after)

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
        for caller in self.pm.get_hookcallers(plugin) or ():
            if caller.name in REGISTRATION:
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin and not (impl.hookwrapper or impl.wrapper):
                        # pluggy marks it final; wrapped once, here, it is the function pluggy
                        # calls, so pm.hook's results arrive attributed (module docstring)
                        impl.function = Attributed(name, caller.name, impl.function)  # type: ignore[misc]
        self._origin[name] = (distribution, version)
        self._cache.clear()

    def load_entry_points(
        self, entry_points: Iterable[importlib_metadata.EntryPoint] | None = None
    ) -> None:
        """Load every ``synthkit`` entry point, each on its own; a plugin implementing a hook
        no specification knows is left out (reported like any other plugin failure)."""
        strict = _env_flag(ENV_STRICT)
        allow, block = _env_names(ENV_ALLOW), _env_names(ENV_BLOCK) or set()
        eps = list(
            entry_points
            if entry_points is not None
            else importlib_metadata.entry_points(group=GROUP)
        )
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
                self._register(ep.load(), ep.name, dist_name, dist_version)
            except Exception as exc:  # any plugin failure is reported, not fatal
                failure = LoadFailure(
                    ep.name, ep.value, dist_name, dist_version, f"{type(exc).__name__}: {exc}"
                )
                if strict:
                    raise PluginError(
                        failure.describe(), hint=f"unset {ENV_STRICT} to skip it"
                    ) from exc
                self.failures.append(failure)
        for plugin_name, error in dict(reversed(self._unknown_hooks())).items():  # its first
            self._leave_out(plugin_name, error, report=False)

    def _unknown_hooks(self) -> list[tuple[str, str]]:
        """(plugin, why) for each implementation of a hook no specification knows."""
        known = [name for name in dir(hookspecs) if name.startswith("synthkit_")]
        found: list[tuple[str, str]] = []
        for name, caller in vars(self.pm.hook).items():
            if not isinstance(caller, pluggy.HookCaller) or caller.spec is not None:
                continue
            close = difflib.get_close_matches(name, known, n=1)
            why = f"unknown hook {name!r}" + (
                f" (did you mean {close[0]!r}?)"
                if close
                else " (the hooks are in synthkit.hookspecs, docs/plugins.md)"
            )
            found.extend((impl.plugin_name, why) for impl in caller.get_hookimpls())
        return found

    def check_pending(self) -> None:
        """A PluginError for the first implementation of an unknown hook (a misspelt name)."""
        for plugin_name, error in self._unknown_hooks():
            dist, _ = self._origin.get(plugin_name, ("(unknown distribution)", ""))
            raise PluginError(
                f"plugin {plugin_name!r} from {dist}: {error}",
                hint="check the hook name against synthkit.hookspecs (docs/plugins.md)",
            )

    # ---------------------------------------------------------------------- collecting

    def _collect(self, kind: str) -> dict[str, Any]:
        """The records of one kind, every plugin's, each name once. A plugin whose hook
        raises, or returns something other than the kind's records, is reported and left out
        whole (all its hooks), and the others are collected again; with
        ``SYNTHKIT_STRICT_PLUGINS=1`` it is fatal instead."""
        while kind not in self._cache:
            try:
                self._collect_once(kind)
            except BrokenHook as broken:
                self._leave_out(broken.plugin_name, broken.error)
        return self._cache[kind]

    def _collect_once(self, kind: str) -> None:
        hook_name, _ = KINDS[kind]
        records: dict[str, Any] = {}
        owners: dict[str, str] = {}
        # pluggy calls the last registered first: reversed, the first registered owns a name
        for registered in reversed(getattr(self.pm.hook, hook_name)()):
            if not isinstance(registered, Registered):  # a wrapper replaced the results
                raise PluginError(
                    f"a hook wrapper around {hook_name} changed what plugins returned"
                )
            for record in registered.records:
                name = normalise_name(record.name)
                if name != record.name:
                    record = replace(record, name=name)
                if name in records:
                    raise PluginError(
                        f"{kind[:-1].replace('_', ' ')} {name!r} is registered twice: by "
                        f"{self._where(owners[name])} and by {self._where(registered.plugin)}",
                        hint=f"uninstall one, or block one with {ENV_BLOCK}",
                    )
                records[name], owners[name] = record, registered.plugin
        self._cache[kind] = records
        self._cache[f"{kind}:owners"] = owners

    def _where(self, plugin_name: str) -> str:
        dist, version = self._origin.get(plugin_name, ("(local)", ""))
        return f"plugin {plugin_name!r} from {dist} {version}".rstrip()

    def _leave_out(self, plugin_name: str, error: str, *, report: bool = True) -> None:
        """Unregister a plugin that failed, recording why (fatal with the strict switch)."""
        dist, version = self._origin.get(plugin_name, ("(local)", ""))
        plugin = self.pm.get_plugin(plugin_name)
        module = getattr(plugin, "__name__", type(plugin).__name__)
        failure = LoadFailure(plugin_name, module, dist, version, error)
        if _env_flag(ENV_STRICT):
            raise PluginError(failure.describe(), hint=f"unset {ENV_STRICT} to leave it out")
        self.pm.unregister(name=plugin_name)
        self.failures.append(failure)
        self._cache.clear()  # its records of other kinds go too
        if report and self.on_failure is not None:
            self.on_failure(failure)
