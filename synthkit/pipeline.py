"""The stage between a generator and its sink: transforms, applied in order, and the run's
life cycle (started, finished, failed) that sinks, transforms and plugins can rely on.

Every command builds its sink through :meth:`synthkit.plugins.Plugins.open_sink`, which
wraps it in a :class:`Pipeline`: the ``--transform`` chain given before the command
(``synthkit --transform select --transform-option select.columns=a,b COMMAND ...``)
runs on every batch, live or offline, and the ``synthkit_run_*`` hooks fire around the run.
A transform's randomness comes from its ``seed``, derived from the run's seed, its name and
its place in the chain: the same inputs give the same bytes.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from synthkit.batch import MissingColumn
from synthkit.contracts import CONTRACTS, BrokerSink, Sink, Transform, call_factory, parse_options
from synthkit.errors import ConfigError, PluginError
from synthkit.rand import stable_key

if TYPE_CHECKING:
    from synthkit.batch import Batch
    from synthkit.plugins import Plugins
    from synthkit.records import SinkReport, TransformSpec


@dataclass(frozen=True)
class RunPlan:
    """What a run will do, as the ``synthkit_run_started`` hook, ``Sink.begin`` and
    ``Transform.begin`` see it: the command, its seed, the window (ISO UTC start and end,
    when it has one), the streams (device or driver ids), the rows planned (None: until
    stopped), the sink, the transforms and the columns the sink will get."""

    command: str
    seed: int = 0
    window: tuple[str, str] | None = None
    streams: tuple[str, ...] = ()
    rows: int | None = None
    live: bool = False
    sink: str = ""
    transforms: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


_active: contextvars.ContextVar[tuple[Plugins, RunPlan] | None] = contextvars.ContextVar(
    "synthkit_run", default=None
)


def chosen_transforms() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(``--transform`` names, ``--transform-option`` pairs) given before the command."""
    from synthkit.context import current_options

    options = current_options()
    return options.transforms, options.transform_options


def build_transforms(
    plugins: Plugins, names: Sequence[str], pairs: Iterable[str], seed: int
) -> list[Transform]:
    """The chain, each built with its options (``NAME.KEY=VALUE``) and its own seed."""
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
        chain.append(transform)
    return chain


class Pipeline:
    """A sink behind the transform chain; the run's life cycle around it."""

    def __init__(self, plugins: Plugins, sink: Sink, chain: list[Transform], plan: RunPlan) -> None:
        self.plugins, self.sink, self.chain, self.plan = plugins, sink, chain, plan

    def open(self, columns: tuple[str, ...]) -> None:
        for transform in self.chain:
            columns = transform.columns(columns)
        self.plan = replace(self.plan, columns=columns)
        _active.set((self.plugins, self.plan))
        self.plugins.run_started(self.plan)
        for transform in self.chain:
            transform.begin(self.plan)
        self.sink.begin(self.plan)
        self.sink.open(columns)

    def write(self, batch: Batch) -> None:
        for transform in self.chain:
            batch = transform.apply(batch)
        if not batch.n:
            return
        try:
            self.sink.write(batch)
        except MissingColumn as exc:
            if not self.chain:
                raise
            raise ConfigError(
                f"the {self.plan.sink} sink needs the column {exc.name!r}, which the transforms "
                f"({', '.join(self.plan.transforms)}) left out",
                hint="keep it in the transforms' output",
            ) from None

    def close(self) -> SinkReport:
        return self.sink.close()

    def abort(self) -> None:
        self.sink.abort()

    def __getattr__(self, name: str) -> Any:  # what a kind adds (per_client, summary...)
        return getattr(self.__dict__["sink"], name)


class _BrokerPipeline(Pipeline):
    def per_client(self) -> dict[str, dict[str, int]]:
        return self.sink.per_client()  # type: ignore[attr-defined]

    def summary(self) -> dict[str, Any]:
        return self.sink.summary()  # type: ignore[attr-defined]


_PIPED = {
    kind: type(
        f"Piped{base.__name__}", (_BrokerPipeline if base is BrokerSink else Pipeline, base), {}
    )
    for kind, base in CONTRACTS.items()
}


def piped(
    plugins: Plugins,
    sink: Sink,
    plan: RunPlan,
    chain: tuple[Sequence[str], Sequence[str]] | None = None,
) -> Sink:
    """``sink`` behind a transform chain, seeded from ``plan.seed``: ``chain`` (names,
    ``NAME.KEY=VALUE`` pairs; a run record's, for a replay), else this command's ``--transform``."""
    names, pairs = chain if chain is not None else chosen_transforms()
    built = build_transforms(plugins, names, pairs, plan.seed)
    plan = replace(plan, transforms=tuple(names))
    return _PIPED[sink.kind](plugins, sink, built, plan)


def opened_columns(sink: Sink, default: tuple[str, ...]) -> tuple[str, ...]:
    """The columns ``sink`` was opened with after the transforms (``default`` if not piped)."""
    return sink.plan.columns if isinstance(sink, Pipeline) and sink.plan.columns else default


def run_finished(summary: Mapping[str, Any]) -> None:
    """The command's summary is out: ``synthkit_run_finished`` fires (once). A hook that
    raises cannot undo the run, whose summary is already on stdout: it makes the command
    incomplete (exit 3, naming the plugin), not a crash without a summary."""
    active = _active.get()
    if active is not None:
        _active.set(None)
        plugins = active[0]
        try:
            plugins.run_finished(active[1], summary)
        except Exception as exc:
            from synthkit.errors import IncompleteRun

            owner = plugins.owner_of(exc) or "a plugin"
            raise IncompleteRun(
                f"{owner} failed in its synthkit_run_finished hook ({type(exc).__name__}: {exc}); "
                "the run itself is done, as its summary on stdout says",
                hint="report it to that plugin's authors, or disable it",
            ) from exc


def run_ended() -> None:
    """The command returned: a run that began and wrote no JSON summary (a stream to stdout)
    is finished now, with an empty summary; nothing is left for the next command."""
    run_finished({})


def run_failed(error: BaseException) -> None:
    """The command ended in ``error`` after its run began: ``synthkit_run_failed`` fires."""
    active = _active.get()
    if active is not None:
        _active.set(None)
        active[0].run_failed(active[1], error)
