"""The event-type contract: a kind of event a family generates (``EventType``, registered by
``synthkit_register_event_types``) and what its vectorised generator sees (``EventContext``)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synthkit.errors import PluginError
from synthkit.records import FieldSpec

if TYPE_CHECKING:  # numpy and the kernels load only where events are built
    import numpy as np


class EventContext:
    """What an event type's vectorised generator sees: one entry per event of that type.

    ``row_keys`` holds one stream key per event; the other columns are those of the family
    that generates the events (docs/plugins.md lists each family's), read as attributes:
    ``ctx.speed``.
    ``uniform(slot)`` gives reproducible uniforms in [0, 1) for each row; use a different
    ``slot`` (0, 1, 2, ...) for each independent quantity.
    """

    # Slots below SLOT_BASE are the family model's own; a plugin's slot 0 is SLOT_BASE.
    SLOT_BASE = 16

    def __init__(self, row_keys: np.ndarray, **columns: np.ndarray) -> None:
        self.row_keys = row_keys
        self.columns = columns

    def __getattr__(self, name: str) -> np.ndarray:
        columns = self.__dict__.get("columns", {})
        if name in columns:
            return columns[name]
        raise AttributeError(
            f"an event context has no column {name!r} (it has: {', '.join(sorted(columns))})"
        )

    @property
    def n(self) -> int:
        return int(self.row_keys.shape[0])

    def uniform(self, slot: int, low: float = 0.0, high: float = 1.0) -> np.ndarray:
        from synthkit import rand  # compiled kernels: loaded by generation, not by start-up

        u = rand.uniforms(self.row_keys, self.SLOT_BASE + slot)
        return low + (high - low) * u

    def choice(self, slot: int, options: np.ndarray | list[Any]) -> np.ndarray:
        import numpy as np

        opts = np.asarray(options)
        idx = np.minimum((self.uniform(slot) * len(opts)).astype(np.int64), len(opts) - 1)
        return opts[idx]


VectorGenerator = Callable[[EventContext], Mapping[str, "np.ndarray"]]
ScalarAttributes = Callable[[random.Random], Mapping[str, Any]]


@dataclass(frozen=True)
class EventType:
    """A kind of event: something that happens to a device, picked by ``weight`` among the
    types eligible at that moment.

    Give either ``generate`` (vectorised: an :class:`EventContext` in, one array per field
    out) or ``attributes`` (the seed's style: a ``random.Random`` in, a dict out, called per
    event). ``fields`` lists the type-specific output fields; for ``attributes`` it may be
    left empty and is then learnt by calling the function once.

    ``eligible`` says when the type may be chosen, in the vocabulary of the family that
    generates it (``{"min_speed": 10.0}``, say; docs/plugins.md lists each family's); a
    condition the family does not know is refused, naming the type.
    ``risk_multipliers`` scale its rate per the family's risk profiles.
    """

    name: str
    weight: float
    fields: tuple[FieldSpec, ...] = ()
    generate: VectorGenerator | None = None
    attributes: ScalarAttributes | None = None
    eligible: Mapping[str, Any] = field(default_factory=dict)
    risk_multipliers: Mapping[str, float] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if (self.generate is None) == (self.attributes is None):
            raise PluginError(
                f"event type {self.name!r} must give exactly one of generate= or attributes="
            )
        if not self.weight >= 0:
            raise PluginError(f"event type {self.name!r}: weight must be >= 0")
