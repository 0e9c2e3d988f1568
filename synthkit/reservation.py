"""Seqs reserved ahead of a sink and given back when a run stops short (:class:`Reservation`),
so a kill leaves a gap in the state file and never a reused seq."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from synthkit.errors import OutputError
from synthkit.state import SeqState

if TYPE_CHECKING:
    from synthkit.batch import Batch
    from synthkit.runs import RunRecorder


class Reservation:
    """Seqs reserved in the state file ahead of what a sink is handed, so a kill leaves a
    gap and never a reused seq, and given back when a run stops short, so the state then
    holds exactly what the sink took (a sink that failed before taking a batch leaves the
    file as it was). ``ahead[d]`` seqs are reserved per save for device ``d``; none past
    ``ceiling[d]`` (the run's last seq), when given. ``columns`` name a batch's stream and
    seq columns (``Family.stream_column``, ``Family.seq_column``) for the ``*_batch`` methods.

    :meth:`reserve` before the sink is handed rows, :meth:`taken` once it took them (its
    ``write`` returned: a write that raises delivered none of its batch), :meth:`settle` at
    the end; :meth:`hand` is both at once, for a sink that may send part of what it raised on.
    A ``recorder`` (:class:`synthkit.runs.RunRecorder`) is told what is reserved after every
    save and what was taken at the end, so the run's record never says less than was sent.
    """

    def __init__(
        self,
        state: SeqState,
        ids: list[str],
        ahead: np.ndarray,
        ceiling: np.ndarray | None = None,
        recorder: RunRecorder | None = None,
        columns: tuple[str, str] = ("device_id", "seq"),
    ):
        self.state, self.ids, self.recorder = state, ids, recorder
        self.columns = columns  # a batch's stream and seq columns (the family's)
        self.reserved = np.array([state.next_seq(d) - 1 for d in ids], np.int64)
        self.done = self.reserved.copy()
        self.ahead = np.maximum(1, np.asarray(ahead, np.int64))
        self.ceiling = ceiling
        self._codes: dict[tuple[str, ...], np.ndarray] = {}

    def reserve(self, device: np.ndarray, seq: np.ndarray) -> None:
        """Make sure ``seq`` (per row, ``device`` codes into ``ids``) is reserved on disk."""
        if seq.size == 0:
            return
        top = self.reserved.copy()
        np.maximum.at(top, device, seq)
        need = np.flatnonzero(top > self.reserved)
        if need.size == 0:
            return
        upto = top[need] + self.ahead[need] - 1
        if self.ceiling is not None:
            upto = np.maximum(np.minimum(upto, self.ceiling[need]), top[need])
        for d, s in zip(need.tolist(), upto.tolist()):
            self.reserved[d] = s
            self.state.advance(self.ids[d], s)
        self.state.save()
        if self.recorder is not None:
            self.recorder.reserved(self.reserved.tolist())

    def taken(self, device: np.ndarray, seq: np.ndarray) -> None:
        if seq.size:
            np.maximum.at(self.done, device, seq)

    def hand(self, device: np.ndarray, seq: np.ndarray) -> None:
        self.reserve(device, seq)
        self.taken(device, seq)

    def reserve_batch(self, batch: Batch) -> None:
        self.reserve(*self._rows(batch))

    def taken_batch(self, batch: Batch) -> None:
        self.taken(*self._rows(batch))

    def _rows(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        id_column, seq_column = self.columns
        ids = batch.column(id_column)
        labels = tuple(str(x) for x in ids.labels)
        index = self._codes.get(labels)
        if index is None:
            where = {d: i for i, d in enumerate(self.ids)}
            index = self._codes[labels] = np.array([where[x] for x in labels], np.int64)
        return index[ids.values], batch.column(seq_column).values

    def settle(self, status: str = "finished") -> None:
        """The run is over (``status``: finished, interrupted or failed): give back every seq
        reserved but not taken, save, and close the run's record."""
        # the record first: killed between the two, the state stays ahead of it (a gap),
        # never behind it (which the next run would refuse). A run that failed (its error on
        # its way out) must not have that error masked by a second one here (a full disk):
        # what cannot be written is said on stderr, and the files keep what they said, which
        # still covers every seq reserved.
        failures: list[OutputError] = []
        if self.recorder is not None:
            try:
                self.recorder.finished(self.done.tolist(), status)
            except OutputError as exc:
                failures.append(exc)
        try:
            for d in np.flatnonzero(self.reserved > self.done).tolist():
                self.state.give_back(self.ids[d], int(self.done[d]))
            self.reserved = self.done.copy()
            self.state.save()
        except OutputError as exc:
            failures.append(exc)
        if not failures:
            return
        what = "; ".join(exc.message for exc in failures)
        if status == "finished":
            raise OutputError(
                f"the run delivered what it reports, but its bookkeeping could not be written ({what})",
                hint="free some space; the run record and state file still cover every seq it reserved",
            )
        from synthkit.console import stderr

        stderr().print(
            f"[yellow]warning:[/] the run's record and state could not be closed ({what}); they still "
            "cover every seq it reserved",
            highlight=False,
            soft_wrap=True,
        )
