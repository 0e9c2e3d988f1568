"""Ground truth read back: a run's ``labels`` table (one JSON line per faulted record, written
by the fault stage beside the output) as columns, for the tools that check an output or a
detector against it (``analyze-csv``, ``synthkit score``). Records are keyed by (stream, seq):
:func:`record_keys` packs the pair into one integer, so label sets compare as sorted arrays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthkit.errors import ConfigError

LABELS_SUFFIX = ".labels.jsonl"
FAULTS_SUFFIX = ".faults.jsonl"
_SEQ_BITS = 40  # a seq below 2**40; the stream's index above it


def record_keys(stream_index: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """One int64 per (stream, seq): the stream's index in a shared list, then the seq."""
    return (stream_index.astype(np.int64) << _SEQ_BITS) | seq.astype(np.int64)


def split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`record_keys` undone: (stream index, seq)."""
    return keys >> _SEQ_BITS, keys & ((1 << _SEQ_BITS) - 1)


@dataclass(frozen=True)
class Labels:
    """One labels file as columns: ``stream`` are codes into ``streams``; ``copies`` is 0
    where a record was not repeated; ``entries`` is the faults table beside it (each
    entry's name, type, params and window), empty when that file is missing."""

    path: Path
    streams: tuple[str, ...]
    stream: np.ndarray
    seq: np.ndarray
    fault: np.ndarray
    effect: np.ndarray
    name: np.ndarray
    copies: np.ndarray
    entries: tuple[dict[str, Any], ...]

    def __len__(self) -> int:
        return len(self.seq)

    def keys(self, index: dict[str, int]) -> np.ndarray:
        """The labels' record keys, their streams numbered by ``index`` (name -> number;
        streams it lacks are added to it)."""
        codes = np.array([index.setdefault(s, len(index)) for s in self.streams], np.int64)
        return record_keys(codes[self.stream] if len(self.streams) else self.stream, self.seq)


def labels_beside(output: Path) -> Path | None:
    """The labels file a run wrote beside ``output``, if it did."""
    path = output.with_name(output.name + LABELS_SUFFIX)
    return path if path.is_file() else None


_STRINGS = ("stream", "fault", "effect", "name")


def read_labels(path: Path) -> Labels:
    """``path`` (a ``*.labels.jsonl``) as :class:`Labels`; a file that is not one is a
    :class:`ConfigError` naming its line."""
    import pyarrow as pa

    schema = pa.schema(
        [*((n, pa.string()) for n in _STRINGS), ("seq", pa.int64()), ("copies", pa.int64())]
    )
    table = read_json_lines(path, schema, "a labels file (a run's <output>.labels.jsonl)")
    for name in ("stream", "seq", "fault", "effect"):
        column = table.column(name)
        if column.null_count:
            line = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0]) + 1
            raise ConfigError(
                f"{path}:{line}: a label without {name!r}",
                hint="point at a labels file a synthkit run wrote",
            )
    stream = table.column("stream").combine_chunks().dictionary_encode()
    entries_path = path.with_name(path.name.removesuffix(LABELS_SUFFIX) + FAULTS_SUFFIX)
    return Labels(
        path=path,
        streams=tuple(stream.dictionary.to_pylist()),
        stream=stream.indices.to_numpy(zero_copy_only=False).astype(np.int64),
        seq=table.column("seq").to_numpy().astype(np.int64),
        fault=_text(table, "fault"),
        effect=_text(table, "effect"),
        name=_text(table, "name"),
        copies=table.column("copies").fill_null(0).to_numpy().astype(np.int64),
        entries=tuple(_entries(entries_path)),
    )


def read_json_lines(path: Path, schema: Any, what: str) -> Any:
    """``path``'s JSON lines as a pyarrow Table of ``schema`` (fields it lacks are nulls,
    others ignored); an unreadable file or line is a :class:`ConfigError` naming it."""
    import pyarrow as pa
    import pyarrow.json as pj

    if not path.is_file():
        raise ConfigError(f"{path}: no such file", hint=f"give {what}")
    if path.stat().st_size == 0:
        return schema.empty_table()
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        return pj.read_json(path, parse_options=options)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ConfigError(
            f"{path}:{_first_bad_line(path, schema)}: not {what} ({exc})",
            hint=f"give {what}: one JSON object per line",
        ) from None


def _first_bad_line(path: Path, schema: Any) -> int:
    """The first line the columnar reader cannot take (parsed one by one: only on error)."""
    import pyarrow as pa

    numbers = {f.name for f in schema if pa.types.is_integer(f.type)}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            try:
                row = json.loads(line)
            except ValueError:
                return number
            if not isinstance(row, dict) or any(
                k in row and row[k] is not None and not isinstance(row[k], int) for k in numbers
            ):
                return number
    return 1


def _text(table: Any, name: str) -> np.ndarray:
    return np.asarray(table.column(name).fill_null("").to_pylist(), dtype=object)


def _entries(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
