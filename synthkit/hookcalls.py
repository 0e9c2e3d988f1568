"""How the core calls registration hooks through ``pm.hook`` and still knows whose each
record is: every registration implementation is wrapped once, when its plugin registers, so
that what it returns comes back as :class:`Registered` (the plugin's name and its records)
and what it raises as :class:`BrokenHook`, naming the plugin. Tracing
(``SYNTHKIT_TRACE_HOOKS=1``) is pluggy's hook-call monitoring."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

from synthkit.errors import PluginError
from synthkit.events import EventType
from synthkit.fault_type import FaultType
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

# kind label -> (hook name, record type); the order is the order `synthkit plugins` shows.
KINDS: dict[str, tuple[str, type]] = {
    "families": ("synthkit_register_families", Family),
    "device_models": ("synthkit_register_device_models", DeviceModel),
    "archetypes": ("synthkit_register_archetypes", Archetype),
    "event_types": ("synthkit_register_event_types", EventType),
    "sinks": ("synthkit_register_sinks", SinkSpec),
    "transforms": ("synthkit_register_transforms", TransformSpec),
    "sources": ("synthkit_register_sources", SourceSpec),
    "fault_types": ("synthkit_register_fault_types", FaultType),
    "checks": ("synthkit_register_checks", PreflightCheck),
    "commands": ("synthkit_register_commands", Command),
}
REGISTRATION = {hook: record for hook, record in KINDS.values()}


@dataclass(frozen=True)
class Registered:
    """What one plugin's registration hook gave: its records, attributed."""

    plugin: str
    records: list[Any]


class BrokenHook(Exception):
    """A plugin's registration hook raised or returned what is not a list of its records."""

    def __init__(self, plugin_name: str, error: str) -> None:
        super().__init__(error)
        self.plugin_name, self.error = plugin_name, error


class Attributed:
    """A registration hook implementation as pluggy calls it: what it returns comes back as
    :class:`Registered`, what it raises as :class:`BrokenHook`, both naming the plugin."""

    def __init__(self, plugin_name: str, hook_name: str, function: Any) -> None:
        self.plugin_name, self.hook_name, self.function = plugin_name, hook_name, function

    def __call__(self, *args: Any) -> Registered:
        record_type = REGISTRATION[self.hook_name]
        try:
            returned = self.function(*args)
        except PluginError:
            raise
        except Exception as exc:  # reported with the plugin's name, then left out
            raise BrokenHook(
                self.plugin_name, f"{self.hook_name} raised {type(exc).__name__}: {exc}"
            ) from exc
        if isinstance(returned, (str, bytes, Mapping)) or (
            returned is not None and not isinstance(returned, Iterable)
        ):
            raise BrokenHook(
                self.plugin_name,
                f"{self.hook_name} returned {type(returned).__name__}, expected a list "
                f"of {record_type.__name__}",
            )
        records = list(returned or ())
        wrong = next((r for r in records if not isinstance(r, record_type)), None)
        if wrong is not None:
            raise BrokenHook(
                self.plugin_name,
                f"{self.hook_name} returned {type(wrong).__name__}, expected {record_type.__name__}",
            )
        return Registered(self.plugin_name, records)


def trace_before(
    hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
) -> None:
    names = ", ".join(impl.plugin_name for impl in impls)
    print(f"synthkit: {hook_name}({', '.join(kwargs)}) -> {names or 'no plugin'}", file=sys.stderr)


def trace_after(
    outcome: pluggy.Result[Any],
    hook_name: str,
    impls: Sequence[pluggy.HookImpl],
    kwargs: Mapping[str, Any],
) -> None:
    if outcome.exception is not None:
        print(f"synthkit: {hook_name} raised {outcome.exception!r}", file=sys.stderr)
        return
    for result in outcome.get_result() or ():
        if isinstance(result, Registered):
            print(f"synthkit: {hook_name} -> {result.plugin}: {result.records!r}", file=sys.stderr)
