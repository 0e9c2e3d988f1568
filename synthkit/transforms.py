"""The transform chain a run's rows go through, built from the names and ``NAME.KEY=VALUE``
options given (``--transform``, or a run record's for a replay), each transform seeded from
the run's seed, its name and its place in the chain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from synthkit.contracts import Transform
from synthkit.errors import ConfigError, PluginError
from synthkit.rand import stable_key
from synthkit.sink_build import call_factory, parse_options

if TYPE_CHECKING:
    from synthkit.plugins import Plugins
    from synthkit.records import TransformSpec


def build_transforms(
    plugins: Plugins, names: Sequence[str], pairs: Iterable[str], seed: int
) -> list[tuple[str, Transform]]:
    """The chain, each transform (with its name) built with its options (``NAME.KEY=VALUE``)
    and its own seed."""
    specs: dict[str, TransformSpec] = plugins.transforms()
    from synthkit.plugins import lookup

    chosen = [
        lookup(specs, name, "transform", fix="see `synthkit plugins` for transforms")
        for name in names
    ]
    per: dict[str, list[str]] = {}
    for pair in pairs:
        name, dot, rest = pair.partition(".")
        if not dot or name.strip().lower().replace("-", "_") not in {s.name for s in chosen}:
            raise ConfigError(
                f"--transform-option {pair!r} names no transform of this run",
                hint=f"write NAME.KEY=VALUE with NAME one of: {', '.join(s.name for s in chosen) or '(none: give --transform)'}",
            )
        per.setdefault(name.strip().lower().replace("-", "_"), []).append(rest)
    chain = []
    for position, spec in enumerate(chosen):
        options = parse_options(
            f"transform {spec.name!r}",
            spec.options,
            per.get(spec.name, ()),
            "--transform-option",
            f"{spec.name}.",
        )
        transform = call_factory(
            f"transform {spec.name!r}",
            spec.factory,
            ("options", options),
            ("seed", stable_key(seed, spec.name, position)),
        )
        if not isinstance(transform, Transform):
            raise PluginError(
                f"transform {spec.name!r}: its factory returned a {type(transform).__name__}, not a synthkit.api.Transform"
            )
        chain.append((spec.name, transform))
    return chain
