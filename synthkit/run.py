"""A run's life, from plan to summary, owned by one object: :class:`Run`.

The command that produces records starts the run and ends it::

    with start_run(ctx, "export-csv") as run:          # the CLI's --transform chain, explicit
        delivery = run.open_sink(spec, target, options, plan)   # typed per sink kind
        report = deliver(batches, delivery, columns)   # started fires when it opens
        run.finish(summary, problems)                  # prints the JSON summary, fires finished

A failure or an interrupt inside the block aborts a sink still open and fires
``synthkit_run_failed``; a block that ends without a summary (a stream to stdout) fires
``synthkit_run_finished`` with an empty one. Printing only prints: nothing else ends a run.
A transform's randomness comes from its seed, derived from the run's seed, its name and its
place in the chain: the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias, overload

from synthkit.errors import IncompleteRun

if TYPE_CHECKING:  # light at start-up: every command module imports this one
    import typer

    from synthkit.contracts import (
        BrokerSink,
        BrokerTarget,
        FileSink,
        FileTarget,
        IngestSink,
        IngestTarget,
        Sink,
        SinkOptions,
        StreamSink,
        StreamTarget,
        Target,
    )
    from synthkit.delivery import Delivery
    from synthkit.faults import FaultPlan
    from synthkit.plugins import Plugins
    from synthkit.records import SinkSpec
    from synthkit.runs import RunRecord

# what a sink's options may be given as: --sink-option pairs, a mapping, or the parsed model
OptionsGiven: TypeAlias = "SinkOptions | Iterable[str] | Mapping[str, Any]"
Chain = tuple[Sequence[str], Sequence[str]]  # transform names and NAME.KEY=VALUE pairs


@dataclass(frozen=True)
class RunPlan:
    """What a run will do, as the ``synthkit_run_started`` hook, ``Sink.begin`` and
    ``Transform.begin`` see it: the command, its seed, the window (ISO UTC start and end,
    when it has one), the streams (device or driver ids), the rows planned (None: until
    stopped), the sink, the transforms (and their options), the columns the sink gets, and
    the faults the scenario declares (a ``FaultPlan``, applied before the transforms)."""

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
    transform_options: tuple[str, ...] = ()
    faults: FaultPlan | None = None  # the scenario's: applied first, their labels with the outputs


class Run:
    """One run of a command: its transform choice, its delivery, how it ended."""

    def __init__(
        self,
        plugins: Plugins,
        command: str,
        *,
        transforms: Sequence[str] = (),
        transform_options: Sequence[str] = (),
        notes_dir: Path | None = None,
        state_notes: Path | None = None,
    ) -> None:
        self.plugins, self.command = plugins, command
        self.transforms, self.transform_options = tuple(transforms), tuple(transform_options)
        self.notes_dir = notes_dir  # where the transforms' notes go (None: beside a file output)
        # a sink that writes no file: its notes go beside the run records (<state>.runs/notes)
        self.state_notes = state_notes
        self.deliveries: list[Delivery[Any]] = []  # one, or one per replayed run
        self.started: list[RunPlan] = []  # each delivery's plan once it opened
        self.ended = False

    # ------------------------------------------------------------------------ delivering

    @overload
    def open_sink(
        self,
        spec: SinkSpec,
        target: FileTarget,
        options: OptionsGiven = (),
        plan: RunPlan | None = None,
        *,
        chain: Chain | None = None,
    ) -> Delivery[FileSink]: ...
    @overload
    def open_sink(
        self,
        spec: SinkSpec,
        target: StreamTarget,
        options: OptionsGiven = (),
        plan: RunPlan | None = None,
        *,
        chain: Chain | None = None,
    ) -> Delivery[StreamSink]: ...
    @overload
    def open_sink(
        self,
        spec: SinkSpec,
        target: IngestTarget,
        options: OptionsGiven = (),
        plan: RunPlan | None = None,
        *,
        chain: Chain | None = None,
    ) -> Delivery[IngestSink]: ...
    @overload
    def open_sink(
        self,
        spec: SinkSpec,
        target: BrokerTarget,
        options: OptionsGiven = (),
        plan: RunPlan | None = None,
        *,
        chain: Chain | None = None,
    ) -> Delivery[BrokerSink]: ...
    @overload
    def open_sink(
        self,
        spec: SinkSpec,
        target: Target,
        options: OptionsGiven = (),
        plan: RunPlan | None = None,
        *,
        chain: Chain | None = None,
    ) -> Delivery[Sink]: ...

    def open_sink(
        self,
        spec: SinkSpec,
        target: Target,
        options: OptionsGiven = (),
        plan: RunPlan | None = None,
        *,
        chain: Chain | None = None,
    ) -> Delivery[Any]:
        """The sink ``spec`` builds for ``target`` (of its kind), with ``options`` checked by
        its options model, behind this run's transform chain (or ``chain``: names and option
        pairs, a run record's, for a replay)."""
        from synthkit.delivery import Delivery
        from synthkit.sink_build import make_sink
        from synthkit.transforms import build_transforms

        names, pairs = chain if chain is not None else (self.transforms, self.transform_options)
        plan = replace(
            plan or RunPlan(self.command),
            sink=spec.name,
            transforms=tuple(names),
            transform_options=tuple(pairs),
        )
        built = build_transforms(self.plugins, names, pairs, plan.seed)
        if plan.faults:
            from synthkit.fault_stage import FaultStage

            built.insert(0, ("faults", FaultStage(plan.faults, *plan.faults.columns)))
        delivery = Delivery(self, make_sink(spec, target, options), built, plan, target)
        self.deliveries.append(delivery)
        return delivery

    def recorded(self, record: RunRecord) -> RunRecord:
        """``record`` with the chain this run's rows go through (what their bytes depend on
        beside the recipe; replay re-applies it), and where its faults' labels go."""
        plan = self.deliveries[-1].plan if self.deliveries else None
        names = plan.transforms if plan is not None else self.transforms
        pairs = plan.transform_options if plan is not None else self.transform_options
        labels = self.deliveries[-1].labels() if self.deliveries else ""
        return replace(
            record,
            transforms=tuple(names),
            transform_options=tuple(pairs),
            labels=labels or record.labels,
        )

    # ----------------------------------------------------------------------- the ending

    def finish(self, summary: dict[str, Any], problems: Sequence[str] | None = None) -> None:
        """Print the JSON summary and fire ``synthkit_run_finished``. With ``problems``: they
        join the summary's warnings, ``complete`` says whether there were any, and a run with
        problems then ends incomplete (exit 3)."""
        from synthkit.console import emit_json, with_problems

        if problems is not None:
            summary = with_problems(summary, problems)
        notes = [d.notes_summary() for d in self.deliveries if d.notebook.manifest]
        if notes:
            summary = {**summary, "notes": notes}
        emit_json(summary)
        self._finished(summary)
        if problems:
            raise IncompleteRun("; ".join(problems), hint="see warnings in the summary on stdout")

    def _finished(self, summary: Mapping[str, Any]) -> None:
        """A hook that raises cannot undo a run whose summary is out: it makes the command
        incomplete (exit 3, naming the plugin), not a crash."""
        if self.ended:
            return
        self.ended = True
        try:
            for plan in self.started:
                self.plugins.run_finished(plan, summary)
        except Exception as exc:  # an observer's bug, reported as such
            owner = self.plugins.owner_of(exc) or "a plugin"
            raise IncompleteRun(
                f"{owner} failed in its synthkit_run_finished hook ({type(exc).__name__}: {exc}); "
                "the run itself is done, as its summary on stdout says",
                hint="report it to that plugin's authors, or disable it",
            ) from exc

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if error is None:
            self._finished({})  # a run that wrote no summary (a stream to stdout)
            return
        for delivery in self.deliveries:
            delivery.abort()  # what is still open goes, nothing half-written stays
        if not self.ended:
            self.ended = True
            for plan in self.started:
                self.plugins.run_failed(plan, error)


def start_run(ctx: typer.Context, command: str, plugins: Plugins | None = None) -> Run:
    """A run of ``command`` with the transform chain given on its command line
    (``synthkit --transform NAME --transform-option NAME.KEY=VALUE COMMAND``)."""
    from synthkit.context import global_options, plugins_of
    from synthkit.runs import runs_dir

    options = global_options(ctx)
    return Run(
        plugins or plugins_of(ctx),
        command,
        transforms=options.transforms,
        transform_options=options.transform_options,
        notes_dir=options.notes_dir,
        state_notes=runs_dir(options.state_file) / "notes",
    )
