"""A run's delivery: its sink behind its transform chain (:class:`Delivery`), opened,
written and closed by ``deliver`` or ``paced`` for the :class:`~synthkit.run.Run` that made
it; the transforms' notes go with the sink's outputs, whole or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from synthkit.batch import MissingColumn
from synthkit.errors import ConfigError
from synthkit.files import bookkeeping

if TYPE_CHECKING:
    from synthkit.batch import Batch
    from synthkit.contracts import Sink, Target, Transform
    from synthkit.records import SinkReport
    from synthkit.run import Run, RunPlan

K = TypeVar("K", bound="Sink")


@dataclass(frozen=True)
class Prepared:
    """A batch through a delivery's transforms, not yet handed to its sink: ``batch`` for
    the sink, and what each stage from ``first`` on returned (each is told it was taken)."""

    batch: Batch
    outputs: list[Batch]
    first: int


class Delivery(Generic[K]):
    """A run's sink behind its transform chain: what ``deliver`` and ``paced`` write to;
    ``sink`` is the sink itself, typed by its kind (a broker sink's ``summary()``...)."""

    def __init__(
        self,
        run: Run,
        sink: K,
        chain: Sequence[tuple[str, Transform]],
        plan: RunPlan,
        target: Target,
    ) -> None:
        from synthkit.notes import NoteBook

        self.run, self.sink, self.plan, self.target = run, sink, plan, target
        self.chain = [transform for _, transform in chain]
        self.notebook = NoteBook(self.chain, [name for name, _ in chain])
        self.state = "planned"  # -> open -> closed | aborted
        self._place: tuple[Path | None, str] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the sink was opened with, after the transforms."""
        return self.plan.columns

    def open(self, columns: tuple[str, ...]) -> None:
        for transform in self.chain:
            columns = transform.columns(columns)
        self.plan = replace(self.plan, columns=columns)
        self.run.started.append(self.plan)
        self.run.plugins.run_started(self.plan)
        for transform in self.chain:
            transform.begin(self.plan)
        self.notebook.open(*self.place, self.plan.sink)  # refused before any write
        try:
            self.sink.begin(self.plan)
            self.sink.open(columns)
        except BaseException:
            self.notebook.abort()
            raise
        self.state = "open"

    @property
    def place(self) -> tuple[Path | None, str]:
        """Where the notes go, fixed the first time it is asked (a run's record names its
        labels before the sink opens)."""
        if self._place is None:
            self._place = self._notes_place()
        return self._place

    def _notes_place(self) -> tuple[Path | None, str]:
        """(directory, file name base) of the notes: ``--notes-dir`` if given, else beside
        a file output (``out.csv`` -> ``out.csv.labels.jsonl``); a non-file sink's go beside
        the run records (``<state>.runs/notes/``), named after the command (the delivery's
        place, for a replay of several runs) and when the run started."""
        from synthkit.files import landing

        path = getattr(self.target, "path", None)
        if isinstance(path, Path) and not landing(path)[1]:
            if self.run.notes_dir is None:
                return path.parent, path.name
            return self.run.notes_dir, _unused(self.run.notes_dir, path.name)
        from datetime import UTC, datetime

        place = self.run.deliveries.index(self)
        base = self.run.command.replace(" ", "-") + (f"-{place}" if place else "")
        # beside the run records, or in --notes-dir: one set per run, named by when it started
        directory = self.run.notes_dir or self.run.state_notes
        if self.notebook.wanted and directory is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            return directory, _unused(directory, f"{base}-{stamp}")
        return self.run.notes_dir, base

    @property
    def meant(self) -> dict[str, int]:
        """What the run's faults dropped and repeated on purpose so far: records dropped,
        extra copies sent (a store that dedupes reports those as duplicates: meant)."""
        from synthkit.fault_stage import FaultStage

        for transform in self.chain:
            if isinstance(transform, FaultStage):
                return dict(transform.meant)
        return {"dropped": 0, "repeated": 0}

    def labels(self) -> str:
        """The faults' ground-truth file this delivery writes ("" when it has no faults)."""
        directory, base = self.place
        if "faults" not in self.notebook.names or directory is None:
            return ""
        return str((directory / f"{base}.labels.jsonl").resolve())

    @property
    def ahead(self) -> bool:
        """Whether the chain may run ahead of the sink, on its own thread (every stage says
        its ``taken`` needs nothing from its last ``apply``): ``deliver`` then overlaps it
        with generating and with writing."""
        return bool(self.chain) and all(t.ahead for t in self.chain)

    def write(self, batch: Batch) -> None:
        self.hand(self.prepare(batch))

    def prepare(self, batch: Batch, held_by: int = -1) -> Prepared:
        """``batch`` through the stages after ``held_by`` (-1: all), not yet handed over."""
        outputs = [batch] if held_by >= 0 else []  # what the holding stage handed on
        start = held_by + 1
        for name, transform in zip(self.notebook.names[start:], self.chain[start:]):
            try:
                batch = transform.apply(batch)
            except MissingColumn as exc:  # rows of another family than it was written for
                who = (
                    "the scenario's faults need"
                    if name == "faults"
                    else f"transform {name!r} needs"
                )
                raise ConfigError(
                    f"{who} the column {exc.name!r}, which this run's rows lack "
                    f"(they have {', '.join(exc.names)})",
                    hint="give it the name of a column these rows have (its options), or leave it out",
                ) from None
            outputs.append(batch)
        return Prepared(batch, outputs, max(held_by, 0))

    def hand(self, prepared: Prepared) -> None:
        """A prepared batch to the sink; then each stage is told what it handed on was taken
        (an emptied batch was taken whole, nothing refused: a drop's labels stand)."""
        if prepared.batch.n:
            self._handed(prepared.batch)
        first = prepared.first
        for transform, out, notes in zip(
            self.chain[first:], prepared.outputs, self.notebook.notes[first:]
        ):
            transform.taken(out, notes)

    def _handed(self, batch: Batch) -> None:
        try:
            self.sink.write(batch)
        except Exception as exc:
            if not isinstance(exc, MissingColumn) or not self.chain:
                raise
            raise ConfigError(
                f"the {self.plan.sink} sink needs the column {exc.name!r}, which the transforms "
                f"({', '.join(self.plan.transforms)}) left out",
                hint="keep it in the transforms' output",
            ) from None

    def close(self) -> SinkReport:
        """Close the sink; the transforms' notes are put in place just before it commits
        and taken away again if it fails to: they appear with the outputs, or not at all.
        What a stage held back (``drain``) is delivered first, through the stages after it."""
        for i, transform in enumerate(self.chain):
            tail = transform.drain()
            if tail is not None and tail.n:
                self.hand(self.prepare(tail, i))
        for transform, notes in zip(self.chain, self.notebook.notes):
            transform.end(notes)
        self.notebook.commit()
        try:
            report = self.sink.close()
        except BaseException:
            self.notebook.abort()
            raise
        self.state = "closed"
        return report

    def abort(self) -> None:
        """Abort the sink if it is open (safe to call twice: deliver aborts, then the run)."""
        if self.state == "open":
            self.state = "aborted"
            try:
                self.sink.abort()
            finally:
                self.notebook.abort()

    def notes_summary(self) -> dict[str, Any]:
        """Where this delivery's notes went and what they hold (the summary's ``notes``)."""
        book, name = self.notebook, f"{self.notebook.base}.notes.json"
        if book.directory is None:  # counters only
            return {"transforms": book.manifest}
        # beside a file output, its name (the output may yet move: export-csv's directory)
        beside_output = self.run.notes_dir is None and book.directory != self.run.state_notes
        place = name if beside_output else str(book.directory / name)
        return {"manifest": place, "transforms": book.manifest}


def _unused(directory: Path, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... : the first no earlier run's notes hold (a
    directory shared by runs never has one run's labels replace another's)."""
    with bookkeeping(directory, "the notes directory"):
        directory.mkdir(parents=True, exist_ok=True)
    name, n = base, 1
    while (directory / f"{name}.notes.json").exists():
        n += 1
        name = f"{base}-{n}"
    return name
