"""A family's scenario as the core sees it: which family a scenario file belongs to (the
top-level section it declares, ``Family.section``), the fleet its ``load`` returns, and what
``validate`` and ``dry-run`` need of it. Those two commands are the core's, for any family
that declares a section and a loader; the family keeps its own schema and engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from synthkit.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from synthkit.plugins import Plugins
    from synthkit.records import Archetype, DeviceModel, Family


class FleetDevice(Protocol):
    """One resolved device of a loaded scenario."""

    @property
    def device_id(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def archetype(self) -> Archetype: ...
    @property
    def model(self) -> DeviceModel: ...
    @property
    def facts(self) -> Mapping[str, Any]:
        """What else a preview says of the device (its cadence, say), in this order."""
        ...


class Fleet(Protocol):
    """What ``Family.load(path, plugins)`` returns: the scenario, validated and resolved."""

    @property
    def path(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def scenario_id(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def warnings(self) -> Sequence[str]: ...
    @property
    def devices(self) -> Sequence[FleetDevice]: ...


@dataclass
class PreflightReport:
    """What ``Family.preflight(plugins, fleet, url, strict)`` found against a database:
    error and warning lines, and which devices an error named (none: all of them)."""

    database: str | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed_devices: set[str] = field(default_factory=set)  # named by an error finding
    whole_failed: bool = False  # an error that concerns every device (the schema, say)

    def passed(self, device_id: str) -> bool:
        return not self.whole_failed and device_id not in self.failed_devices


def family_of(path: str, plugins: Plugins) -> Family:
    """The installed family whose section the scenario at ``path`` declares."""
    from synthkit.yamlfile import load_yaml

    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"{doc.where(())}: the document must be a mapping of fields (a scenario)",
            hint="write key: value lines",
        )
    keys = list(doc.data)
    readers = {f.section: f for f in plugins.families().values() if f.section and f.load}
    found = [readers[k] for k in keys if k in readers]
    if len(found) == 1:
        return found[0]
    sections = ", ".join(f"{s} ({f.name})" for s, f in sorted(readers.items()))
    if not found:
        raise ConfigError(
            f"{path}: no installed family reads this scenario (its top-level keys: "
            f"{', '.join(map(str, keys)) or 'none'})",
            hint=f"a scenario declares one family's section: {sections or 'no family is installed'}",
        )
    raise ConfigError(
        f"{path}: declares the sections of {len(found)} families "
        f"({', '.join(f.section for f in found)}): which is it?",
        hint="one scenario file per family",
    )


def load_fleet(path: str, plugins: Plugins) -> tuple[Family, Fleet]:
    family = family_of(path, plugins)
    assert family.load is not None  # family_of picks only families that load
    fleet = family.load(path, plugins)
    for name in ("path", "sha256", "scenario_id", "seed", "warnings", "devices"):
        if not hasattr(fleet, name):
            raise PluginError(
                f"family {family.name!r}: its load returned a {type(fleet).__name__} without {name!r}",
                hint="return an object with the fields of synthkit.api.Fleet",
            )
    return family, fleet
