"""Hook specifications: the whole contract between the synthkit core and its plugins.

Every hook is prefixed ``synthkit_`` and called with keyword arguments only; an
implementation may accept fewer arguments than the specification lists, which is how a hook
grows without breaking existing plugins. Most hooks are *registration* hooks: they fire
once, when the plugin manager is first asked for that kind of record, and return a list of
typed records (or ``None`` for "nothing"). A name registered by two plugins is an error that
names both distributions. The three ``synthkit_run_*`` hooks are *life-cycle* hooks: they
fire around every run that delivers to a sink, and return nothing.

Implement them in your plugin module with ``@synthkit.hookimpl``; see docs/plugins.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

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

if TYPE_CHECKING:
    from synthkit.run import RunPlan

hookspec = pluggy.HookspecMarker("synthkit")
hookimpl = pluggy.HookimplMarker("synthkit")


# --- what can be generated ----------------------------------------------------------------


@hookspec
def synthkit_register_families() -> list[Family] | None:
    """Register families: simulators of a kind of fleet, and the modes their models run in.

    Fires: the first time the core needs the device-model registry (a model names its family).
    Returns: a list of :class:`synthkit.records.Family`; names unique across plugins.
    """


@hookspec
def synthkit_register_device_models() -> list[DeviceModel] | None:
    """Register device models: the physics/state machines that archetypes parameterise.

    Fires: the first time the core needs the device-model registry.
    Returns: a list of :class:`synthkit.records.DeviceModel`; names unique across plugins. A
    model whose ``family`` is not installed, or whose ``mode`` is not one of that family's,
    is reported and its plugin left out.
    """


@hookspec
def synthkit_register_archetypes() -> list[Archetype] | None:
    """Register archetypes: named parameter sets for a device model, with tendencies.

    Fires: the first time the core needs the archetype registry (scenario validation).
    Returns: a list of :class:`synthkit.records.Archetype`; names unique across plugins.
    """


@hookspec
def synthkit_register_event_types() -> list[EventType] | None:
    """Register event types: things that happen to a device, picked by weight among those
    eligible (name, weight, eligibility in the generating family's terms, attribute generator).

    Fires: the first time a family's generator that uses event types is built.
    Returns: a list of :class:`synthkit.records.EventType`; names unique across plugins.
    """


# --- where it goes --------------------------------------------------------------------------


@hookspec
def synthkit_register_sinks() -> list[SinkSpec] | None:
    """Register sinks: destinations (files, stdout, brokers, databases) that receive batches.

    Fires: the first time the core resolves a sink by name or by file extension.
    Returns: a list of :class:`synthkit.records.SinkSpec`; names unique across plugins, and a
    file extension may be claimed by one sink only.
    """


@hookspec
def synthkit_register_sources() -> list[SourceSpec] | None:
    """Register sources: what a command reads from outside (a broker subscription) to hand
    to a sink, acknowledging each batch upstream only once the sink took it.

    Fires: the first time a command looks a source up by name (``ingest listen``).
    Returns: a list of :class:`synthkit.records.SourceSpec`; names unique across plugins.
    """


@hookspec
def synthkit_register_transforms() -> list[TransformSpec] | None:
    """Register transforms: stages between generator and sink (``--transform NAME``).

    Fires: the first time a command builds its sink (every command does).
    Returns: a list of :class:`synthkit.records.TransformSpec`; names unique across plugins.
    """


@hookspec
def synthkit_register_fault_types() -> list[FaultType] | None:
    """Register fault types: what a scenario's ``faults:`` block may name (stuck sensors,
    drift, dropped or duplicated deliveries...), each with its parameter model.

    Fires: the first time a command loads a scenario that declares faults.
    Returns: a list of :class:`synthkit.fault_type.FaultType`; names unique across plugins.
    """


# --- the run's life cycle -------------------------------------------------------------------


@hookspec
def synthkit_run_started(plan: RunPlan) -> None:
    """A run is about to deliver its first batch; ``plan`` says what it will do (command,
    seed, window, streams, rows planned, sink, transforms, columns).

    Fires: once per run, before the sink opens; raising stops the run before anything is
    delivered.
    Returns: nothing.
    """


@hookspec
def synthkit_run_finished(plan: RunPlan, summary: Mapping[str, Any]) -> None:
    """The run ended and its JSON summary (``summary``, what stdout got) is out; a command
    that writes no summary (a stream to stdout) ends with an empty one.

    Fires: once per run that started, after the summary is written.
    Returns: nothing.
    """


@hookspec
def synthkit_run_failed(plan: RunPlan, error: BaseException) -> None:
    """The run ended in ``error`` (a failure, a refusal or an interrupt) after it started;
    its sink has been aborted.

    Fires: once per run that started and did not finish.
    Returns: nothing.
    """


# --- safety before work ---------------------------------------------------------------------


@hookspec
def synthkit_register_checks() -> list[PreflightCheck] | None:
    """Register preflight checks, run before any output is written.

    Fires: the first time a command runs its preflight.
    Returns: a list of :class:`synthkit.records.PreflightCheck`; names unique across plugins.
    A check's ``run(subject, context)`` returns findings; any ``error`` finding stops the
    command before it writes anything.
    """


# --- the command line -----------------------------------------------------------------------


@hookspec
def synthkit_register_commands() -> list[Command] | None:
    """Register top-level CLI command groups (typer apps).

    Fires: once, when the ``synthkit`` CLI starts.
    Returns: a list of :class:`synthkit.records.Command`. A name that an existing command
    already has is refused with an error naming both distributions.
    """
