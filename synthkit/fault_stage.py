"""The stage that applies a scenario's faults to a run's rows, first in its transform chain,
and writes their ground truth: one ``labels`` row per faulted record (its stream, seq and
time, the fault's type, what it did to the record, and the entry's name), and one ``faults``
row per entry of the block (its name, type, parameters and window, and the block's hash);
written with the run's outputs, whole or not at all, and only for records of batches the
sink took (a dropped record's label comes with the batch it left). Labels are columns, written
by the compiled encoder: a fault that hits every record costs little more than the record."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from synthkit.batch import Batch, Column
from synthkit.contracts import Transform
from synthkit.errors import ConfigError
from synthkit.fault_draws import Draws, RecordKeys
from synthkit.faults import EFFECTS, CompiledFault, FaultPlan, effect_codes
from synthkit.rand import stable_key

if TYPE_CHECKING:
    from synthkit.notes import Notes
    from synthkit.run import RunPlan

# faulted records, as the stage keeps them until the sink took their batch: the fault, their
# stream column (codes and labels), seqs, times and effect codes (faults.EFFECTS)
Pending = tuple[CompiledFault, "Column", np.ndarray, "Column", np.ndarray]


class FaultStage(Transform):
    """Applies ``plan`` to batches whose rows carry the family's stream, seq and time."""

    note_tables = ("labels", "faults")
    ahead = True  # each batch's labels wait beside it until it is taken

    def __init__(self, plan: FaultPlan, stream: str, seq: str, time: str) -> None:
        self.plan, self.stream, self.seq, self.time = plan, stream, seq, time
        self.run_start_s = 0.0
        self.pending: list[Pending] = []  # of the batch being applied
        # by the batch handed on: it, its labels, what they count
        self._waiting: dict[int, tuple[Batch, Batch, list[Pending]]] = {}
        self.meant = {"dropped": 0, "repeated": 0}  # records dropped, extra copies sent
        self._lists: dict[str, tuple[str, ...]] = {}
        self._labels: Any = None  # the stream labels the caches below were built for
        self._keys = np.zeros(0, np.uint64)
        self._masks: list[np.ndarray] = []

    def columns(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        missing = [c for c in (self.stream, self.seq, self.time) if c not in columns]
        if missing:
            raise ConfigError(
                f"faults need the {', '.join(missing)} column(s), which this run's rows lack",
                hint="leave those columns in (a --transform that drops them runs after the faults)",
            )
        for f in self.plan.faults:
            wrong = f.fault.check(columns)
            if wrong:
                raise ConfigError(
                    f"fault {f.name!r} ({f.type}): {wrong}", hint="fix the scenario's faults block"
                )
        return columns

    def begin(self, plan: RunPlan) -> None:
        """Relative windows count from the run's window start: its plan's, else the one its
        record keeps (``extra["window_start"]``: a live run without an end, a replay)."""
        start = plan.window[0] if plan.window else plan.extra.get("window_start")
        when = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else datetime.now(UTC)
        self.run_start_s = when.timestamp()

    def apply(self, batch: Batch) -> Batch:
        self.pending = []
        t = _epoch_s(batch.column(self.time))
        first, until = (float(t.min()), float(t.max())) if len(t) else (np.inf, 0.0)
        masks = self._stream_masks(batch.column(self.stream))
        for f, mask in zip(self.plan.faults, masks):
            lo, hi = f.entry.window.bounds(self.run_start_s)
            if hi > first and lo <= until:  # else its window is shut for the whole batch
                batch = self._one(f, mask, batch)
        released = self._released(until)
        out = batch if released is None else _merged(batch, *released, self.time)
        # labels are laid out here: on this stage's thread when the run runs it ahead, not on
        # the sink's, which has the encoding to do (rows taken lazily are gathered by the
        # encoder, or copied when the sink asks for a column)
        if self.pending:
            self._waiting[id(out)] = (out, self._label_batch(self.pending), self.pending)
            self.pending = []
        return out

    def drain(self) -> Batch | None:
        """What the faults still hold at the run's end."""
        released = self._released(np.inf)
        return None if released is None else released[0]

    def _released(self, until_s: float) -> tuple[Batch, np.ndarray] | None:
        """The records the faults held that are due by ``until_s``: by due instant, then by
        the fault's place in the block, then in the order held. A record a fault holds back
        is not seen by the faults after it."""

        found = [(f.fault.release(until_s), k) for k, f in enumerate(self.plan.faults)]
        parts = [(held[0], held[1], k) for held, k in found if held is not None and held[0].n]
        if not parts:
            return None
        rows = Batch.concat([b for b, _, _ in parts])
        due = np.concatenate([d for _, d, _ in parts])
        which = np.concatenate([np.full(len(d), k) for _, d, k in parts])
        order = np.lexsort((np.arange(len(due)), which, due))
        return rows.take(order), due[order]

    def _one(self, f: CompiledFault, mask: np.ndarray, batch: Batch) -> Batch:
        """One fault over the batch: its window computed, and its draws made, only for the
        records of its devices (most faults hit a few devices, or a few hours)."""
        if not batch.n:
            return batch
        codes = batch.column(self.stream).values
        t, seq = _epoch_s(batch.column(self.time)), batch.column(self.seq).values
        window = f.entry.window.among(mask[codes], t, self.run_start_s)
        if window is None:
            return batch
        rows = window.rows
        keys = RecordKeys(f.key, self._keys, codes, seq)
        hit = window.with_rows_of(seq, t, lambda: self._keys[codes])
        out, labelled = f.fault.apply(batch, hit, Draws(keys, rows))
        if labelled.any():
            rows_of = np.flatnonzero(labelled)
            stream, at = batch.column(self.stream).take(rows_of), batch.column(self.time)
            codes = effect_codes(labelled, f.fault.effect)[rows_of]
            self.pending.append((f, stream, seq[rows_of], at.take(rows_of), codes))
        return out

    def taken(self, batch: Batch, notes: Notes) -> None:
        """The labels of the records the sink took (laid out by :meth:`_label_batch`)."""
        waiting = self._waiting.pop(id(batch), None)
        if waiting is None:
            return
        _, labels, pending = waiting
        notes.add("labels", labels)
        dropped, repeated = 1 + EFFECTS.index("dropped"), 1 + EFFECTS.index("repeated")
        for f, _, seqs, _, codes in pending:
            notes.count(f"faulted:{f.name}", len(seqs))
            copies = int(getattr(f.params, "copies", 1))
            self.meant["repeated"] += int(np.count_nonzero(codes == repeated)) * copies
            self.meant["dropped"] += int(np.count_nonzero(codes == dropped))

    def _label_batch(self, pending: list[Pending]) -> Batch:
        """One batch's labels, every fault's in one columnar batch (its type, effect and name
        as codes into lists made once: the encoder's caches hold)."""
        from synthkit.isotime import iso_seconds

        faults = self.plan.faults
        place = {f.index: k for k, f in enumerate(faults)}
        which = np.concatenate([np.full(len(p[2]), place[p[0].index]) for p in pending])
        copies = np.array([int(getattr(f.params, "copies", 1)) for f in faults])
        effect = np.concatenate([p[4] for p in pending]).astype(np.int64) - 1
        repeated = effect == EFFECTS.index("repeated")
        columns = [
            replace(Batch.concat([Batch([p[1]]) for p in pending]).columns[0], name="stream"),
            Column("seq", "int", np.concatenate([p[2] for p in pending]).astype(np.int64)),
            Batch.concat([Batch([_at(p[3], iso_seconds)]) for p in pending]).columns[0],
            Column("fault", "label", which, labels=self._names("type")),
            Column("effect", "label", effect, labels=EFFECTS),
            Column("name", "label", which, labels=self._names("name")),
        ]
        if repeated.any():  # how many extra copies each repeated record was sent
            columns.append(Column("copies", "int", copies[which], present=repeated))
        return Batch(columns)

    def _names(self, what: str) -> tuple[str, ...]:
        """Per fault of the block, in order: its type or name (one tuple per run)."""
        if what not in self._lists:
            of = {"type": lambda f: f.type, "name": lambda f: f.name}[what]
            self._lists[what] = tuple(of(f) for f in self.plan.faults)
        return self._lists[what]

    def end(self, notes: Notes) -> None:
        notes.add(
            "faults", ({**f.describe(), "sha256": self.plan.sha256} for f in self.plan.faults)
        )

    def _stream_masks(self, column: Column) -> list[np.ndarray]:
        """Per fault, which of the column's labels it hits (built once per label list)."""
        if column.labels is not self._labels:
            self._labels = column.labels
            names = [str(x) for x in column.labels]
            self._keys = np.array([stable_key("fault stream", n) for n in names], np.uint64)
            self._masks = [
                np.array([n in f.streams for n in names], bool) for f in self.plan.faults
            ]
        return self._masks


def _at(time: Column, iso_seconds: Any) -> Column:
    """A label's ``at``: the record's own time text when it is a timestamp column."""

    if time.kind == "fixed":
        return replace(time, name="at")
    seconds = _epoch_s(time)
    return Column("at", "fixed", iso_seconds(seconds), type="timestamp", epoch=seconds)


def _merged(batch: Batch, held: Batch, due_s: np.ndarray, time: str) -> Batch:
    """``held`` records placed after the records of ``batch`` emitted by their due instant
    (``batch`` is in time order; held records due together keep their order)."""

    at = np.searchsorted(_epoch_s(batch.column(time)), due_s, side="right")
    # batch row i at 2i; a held record before the first row emitted after its due instant
    where = np.concatenate([2 * np.arange(batch.n), 2 * at - 1])
    return Batch.concat([batch, held]).take(np.argsort(where, kind="stable"))


def _epoch_s(column: Column) -> np.ndarray:
    """A time column as epoch seconds: a timestamp's ``epoch`` (seconds, or milliseconds
    for the wider text), else its integer values."""
    if column.epoch is not None:
        wide = column.values.ndim == 2 and column.values.shape[1] > 20  # .fff before the Z
        return column.epoch // 1000 if wide else column.epoch
    return column.values.astype(np.int64)
