"""Rows of a batch taken lazily (:meth:`synthkit.batch.Batch.take`): a fault that drops,
repeats or holds back records, or a transform that filters them, hands on a view, and each
column is copied once, when first asked for, however many takes came one after another; an
encoder gathers the rows straight from the base into its own buffers (:meth:`Taken.sources`).
"""

from __future__ import annotations

import numpy as np

from synthkit.batch import Batch, Column


class Taken(Batch):
    """Rows of ``base`` at ``index``, taken column by column on first use; columns put in
    place (:meth:`replaced`) are kept with the rows of them still to take."""

    def __init__(self, base: Batch, index: np.ndarray) -> None:  # no dataclass init: lazy
        self._base, self._index = base, index
        self._own: dict[str, tuple[Column, np.ndarray | None]] = {}
        self._done: dict[str, Column] = {}

    @property  # read-only here: its columns are the base's, taken
    def columns(self) -> list[Column]:  # type: ignore[override]
        return [self.column(name) for name in self._base.names]

    @property
    def n(self) -> int:
        return len(self._index)

    @property
    def names(self) -> tuple[str, ...]:
        return self._base.names

    def column(self, name: str) -> Column:
        found = self._done.get(name)
        if found is None:
            own = self._own.get(name)
            if own is None:
                found = self._base.column(name).take(self._index)
            else:
                found = own[0] if own[1] is None else own[0].take(own[1])
            self._done[name] = found
        return found

    def sources(self) -> list[tuple[Column, np.ndarray | None]]:
        out: list[tuple[Column, np.ndarray | None]] = []
        for name in self._base.names:
            done, own = self._done.get(name), self._own.get(name)
            if done is not None:
                out.append((done, None))
            elif own is not None:
                out.append(own)
            else:
                out.append((self._base.column(name), self._index))
        return out

    def take(self, index: np.ndarray) -> Batch:
        index = np.asarray(index)
        taken = Taken(self._base, self._index[index])
        taken._own = {
            n: (c, index if at is None else at[index]) for n, (c, at) in self._own.items()
        }
        return taken

    def replaced(self, *columns: Column) -> Batch:
        out = Taken(self._base, self._index)
        known = set(self._base.names)
        new = {c.name: (c, None) for c in columns if c.name in known}
        out._own = {**self._own, **new}
        out._done = {n: c for n, c in self._done.items() if n not in new}
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Batch) and self.columns == other.columns
