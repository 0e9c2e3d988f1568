"""What a transform knows that is not data: rows of named tables (a fault transform's ground-
truth labels) and counters. Each transform writes only the tables it declares
(``Transform.note_tables``); a run's notes are JSON-lines files beside its output (or in
``--notes-dir``) with a ``.notes.json`` manifest, and they appear whole with the output or
not at all: the files are written to hidden temp files while the run goes, renamed into
place just before the sink commits, and removed again if the sink fails to.

A transform writes notes in ``taken(batch, notes)``, once the sink took the batch, so a label
never names a record the sink refused; and in ``end(notes)``, after the last batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthkit.errors import ConfigError, PluginError
from synthkit.files import AtomicFile, bookkeeping

if TYPE_CHECKING:
    from synthkit.batch import Batch
    from synthkit.contracts import Transform
    from synthkit.encode import Encoder


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as the JSON numbers and lists they hold."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"a note cannot hold a {type(value).__name__} ({value!r})")


class _Table:
    """One table's JSON lines, written to a temp file as they come (memory stays flat)."""

    def __init__(self, path: Path) -> None:
        self.path, self.rows = path, 0
        with bookkeeping(path, "the notes file"):
            self.file = AtomicFile(path)
        self.encoder: Encoder | None = None

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        lines = [json.dumps(dict(r), separators=(",", ":"), default=_plain) for r in rows]
        if lines:
            with bookkeeping(self.path, "the notes file"):
                self.file.write(("\n".join(lines) + "\n").encode())
            self.rows += len(lines)

    def add_batch(self, batch: Batch) -> None:
        if not batch.n:
            return
        if self.encoder is None:
            from synthkit.encode import Encoder

            self.encoder = Encoder("jsonl", threads=1)
        with bookkeeping(self.path, "the notes file"):
            for view in self.encoder.encode(batch):
                self.file.write(view)
        self.rows += batch.n


class Notes:
    """One transform's notes in one run: :meth:`add` rows to a table it declared (mappings,
    or a :class:`~synthkit.batch.Batch` written as JSON lines by the compiled encoder),
    :meth:`count` a counter. Rows are written in the order given: add them in the order of
    the records they name, and the same run gives the same bytes."""

    def __init__(self, owner: str, tables: Mapping[str, _Table]) -> None:
        self.owner, self._tables = owner, tables
        self.counters: dict[str, int] = {}

    def add(self, table: str, rows: Batch | Iterable[Mapping[str, Any]]) -> None:
        """Append ``rows`` to ``table`` (one of the transform's ``note_tables``)."""
        from synthkit.batch import Batch

        sink = self._tables.get(table)
        if sink is None:
            raise PluginError(
                f"transform {self.owner!r} wrote notes to {table!r}, a table it did not declare",
                hint=f"list it in the transform's note_tables (declared: {', '.join(self._tables) or 'none'})",
            )
        if isinstance(rows, Batch):
            sink.add_batch(rows)
        else:
            sink.add_rows(rows)

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``name`` (reported in the manifest and the summary)."""
        self.counters[name] = self.counters.get(name, 0) + int(n)


class NoteBook:
    """A delivery's notes: one :class:`Notes` per transform of its chain, files named
    ``<base>.<table>.jsonl`` in ``directory`` and the manifest ``<base>.notes.json``."""

    def __init__(self, chain: Sequence[Transform], names: Sequence[str]) -> None:
        self.chain, self.names = chain, tuple(names)
        self.wanted = any(t.note_tables for t in chain)
        self.notes: list[Notes] = []
        self.directory: Path | None = None
        self.base = ""
        self.manifest: dict[str, Any] = {}
        self.placed: list[Path] = []  # files renamed into place (removed if the sink fails)

    def open(self, directory: Path | None, base: str, sink: str) -> None:
        """Start the files (nothing when no transform declares a table)."""
        if not self.wanted:
            self.notes = [Notes(name, {}) for name in self.names]
            return
        if directory is None:
            owners = [n for n, t in zip(self.names, self.chain) if t.note_tables]
            raise ConfigError(
                f"the transform {', '.join(map(repr, owners))} writes notes (such as ground-truth "
                f"labels), and the {sink} sink writes no file beside which they could go",
                hint="give --notes-dir DIR (before the command)",
            )
        self.directory, self.base = directory, base
        taken: dict[str, str] = {}
        for name, transform in zip(self.names, self.chain):
            tables = {}
            for table in transform.note_tables:
                if table in taken:
                    raise PluginError(
                        f"transforms {taken[table]!r} and {name!r} both write the notes table {table!r}",
                        hint="run one of them, or give one another table name",
                    )
                taken[table] = name
                tables[table] = _Table(directory / f"{base}.{table}.jsonl")
            self.notes.append(Notes(name, tables))

    def commit(self) -> dict[str, Any]:
        """The manifest (per transform: its tables' files and rows, its counters), written
        with the tables, or {} when no transform wrote anything."""
        self.manifest = {
            n.owner: {
                "counters": dict(sorted(n.counters.items())),
                "tables": {t: {"file": s.path.name, "rows": s.rows} for t, s in n._tables.items()},
            }
            for n in self.notes
            if n.counters or n._tables
        }
        if not self.wanted:
            return self.manifest
        assert self.directory is not None
        path = self.directory / f"{self.base}.notes.json"
        with bookkeeping(path, "the notes manifest"):
            for n in self.notes:
                for table in n._tables.values():
                    table.file.commit()
                    self.placed.append(table.path)
            manifest = AtomicFile(path)
            manifest.write((json.dumps(self.manifest, indent=2) + "\n").encode())
            manifest.commit()  # last: a manifest says its tables are whole
            self.placed.append(path)
        return self.manifest

    def abort(self) -> None:
        """No note file stays: not a temp file, nor one committed before the sink failed."""
        for n in self.notes:
            for table in n._tables.values():
                table.file.abort()
        for path in self.placed:
            path.unlink(missing_ok=True)
        self.placed.clear()
