"""The record a fault-type plugin returns (``synthkit_register_fault_types``): no pydantic, no
numpy, so the hook specifications load nothing heavy. Its parameter models' base is
:mod:`synthkit.fault_params`; the contract a fault implements is :mod:`synthkit.faults`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synthkit.errors import PluginError

FAULT_GROUPS = ("sensor", "device", "delivery", "anomaly")


@dataclass(frozen=True)
class FaultType:
    """A fault type a scenario's ``faults:`` block may name: ``factory(params)`` builds a
    ``synthkit.api.Fault`` from ``params``, an instance of ``params`` (a
    ``synthkit.api.FaultParams`` subclass: the entry's keys beside ``type``, ``name``,
    ``devices`` and ``window``). ``group`` says what it models (``sensor``, ``device``,
    ``delivery``, ``anomaly``); ``families`` the families it applies to (empty: any)."""

    name: str
    factory: Callable[..., Any]
    params: type[Any] | None = None
    group: str = "sensor"
    families: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if self.group not in FAULT_GROUPS:
            raise PluginError(
                f"fault type {self.name!r}: group must be one of {', '.join(FAULT_GROUPS)}, got {self.group!r}"
            )
