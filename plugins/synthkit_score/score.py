"""Scores a detector's output against a run's ground-truth labels: precision, recall and F1
per fault type, record by record and event by event.

A record is (stream, seq). A *labelled event* is a run of consecutive seqs of one stream that
one fault entry labels (a stuck sensor's half day, a dropout); a *detected event* is a run of
consecutive seqs of one stream a detector flags with one type. An event counts as found when
any of its records is flagged (recall), a detected event as right when any of its records is
labelled (precision): a detector that raises one alarm per incident is not punished for
flagging only its start. Detections that name no fault type are scored against every type's
recall, and for precision overall only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from synthkit.api import ConfigError, Labels, read_json_lines, record_keys

ANY = "any"  # the row that ignores types
STREAM_NAMES = ("stream", "device_id", "driver_id")  # what a detection may call its stream
TYPE_NAMES = ("fault", "type")


class Detections:
    """A detector's flagged records: ``keys`` (streams numbered by the shared index) and, when
    the file names them, each one's fault type."""

    def __init__(self, path: Path, index: dict[str, int]) -> None:
        table = _read(path)
        names = set(table.column_names)
        stream = _coalesce(table, STREAM_NAMES)
        if stream is None or "seq" not in names:
            raise ConfigError(
                f"{path}: a detection needs a stream ({' or '.join(STREAM_NAMES)}) and a seq; "
                f"the file has {', '.join(sorted(names)) or 'no columns'}",
                hint='one record per line: {"stream": "QA-N-001", "seq": 288, "fault": "stuck_at"}',
            )
        for what, column in (("stream", stream), ("seq", table.column("seq"))):
            if column.null_count:
                line = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
                raise ConfigError(
                    f"{path}:{line + 1 + _header(path)}: a detection without {what!r}",
                    hint="give every detection its stream and seq",
                )
        streams = stream.combine_chunks().dictionary_encode()
        codes = np.array(
            [index.setdefault(s, len(index)) for s in streams.dictionary.to_pylist()], np.int64
        )
        self.path = path
        self.keys = record_keys(
            codes[streams.indices.to_numpy(zero_copy_only=False)] if len(codes) else codes,
            table.column("seq").to_numpy().astype(np.int64),
        )
        typed = _coalesce(table, TYPE_NAMES)
        self.types = (
            None if typed is None else np.asarray(typed.fill_null("").to_pylist(), dtype=object)
        )


def _coalesce(table: Any, names: tuple[str, ...]) -> Any:
    """The first of ``names`` each row gives (a file may mix them), or None if none is a column."""
    import pyarrow.compute as pc

    columns = [table.column(n) for n in names if n in table.column_names]
    return pc.coalesce(*columns) if columns else None


def _read(path: Path) -> Any:
    import pyarrow as pa

    if path.suffix.lower() == ".csv":
        import pyarrow.csv as pcsv

        if not path.is_file():
            raise ConfigError(f"{path}: no such file", hint="give the detector's output file")
        try:
            return pcsv.read_csv(
                path,
                convert_options=pcsv.ConvertOptions(
                    column_types={"seq": pa.int64()}, strings_can_be_null=True
                ),
            )
        except (pa.ArrowInvalid, OSError) as exc:
            raise ConfigError(
                f"{path}: not a CSV of detections ({exc})",
                hint="a header with stream (or device_id) and seq, then one row per record",
            ) from None
    schema = pa.schema(
        [*((n, pa.string()) for n in (*STREAM_NAMES, *TYPE_NAMES)), ("seq", pa.int64())]
    )
    table = read_json_lines(path, schema, "a detections file (JSON lines)")
    present = [n for n in table.column_names if table.column(n).null_count < table.num_rows]
    return table.select(present or table.column_names[:0])


def _header(path: Path) -> int:
    return 1 if path.suffix.lower() == ".csv" else 0


def score(labels: Labels, detections_path: Path) -> dict[str, Any]:
    """Per fault type (and overall): records and events labelled, flagged, matched, and the
    precision, recall and F1 of each (None where nothing defines them)."""
    index: dict[str, int] = {}
    label_keys = labels.keys(index)
    found = Detections(detections_path, index)
    by_type: dict[str, Any] = {}
    types = sorted(set(labels.fault.tolist()) | set(_types(found)))
    for kind in types:
        mine = labels.fault == kind
        flagged = found.keys if found.types is None else found.keys[found.types == kind]
        events = _events(label_keys[mine], labels.name[mine])
        by_type[kind] = _row(label_keys[mine], events, flagged, found.types is not None)
    every = _events(label_keys, labels.name)
    return {
        "command": "score",
        "labels": str(labels.path),
        "detections": str(detections_path),
        "typed": found.types is not None,
        "by_type": by_type,
        ANY: _row(label_keys, every, found.keys, True),
    }


def _types(found: Detections) -> list[str]:
    return [] if found.types is None else [t for t in set(found.types.tolist()) if t]


def _row(
    labelled: np.ndarray, events: tuple[np.ndarray, np.ndarray], flagged: np.ndarray, precise: bool
) -> dict[str, Any]:
    """One type's figures; ``precise`` False: flags not meant for this type (untyped
    detections) give recall only."""
    truth, flags = np.unique(labelled), np.unique(flagged)
    hits = len(np.intersect1d(truth, flags, assume_unique=True))
    flag_events = _runs(flags)
    return {
        "records": _figures(len(truth), len(flags), hits, hits, precise),
        "events": _figures(
            len(events[0]),
            len(flag_events[0]),
            _touched(flags, *events),
            _touched(truth, *flag_events),
            precise,
        ),
    }


def _figures(truth: int, flagged: int, found: int, right: int, precise: bool) -> dict[str, Any]:
    recall = found / truth if truth else None
    precision = (right / flagged if flagged else None) if precise else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "labelled": truth,
        "flagged": flagged if precise else None,
        "found": found,
        "precision": _round(precision),
        "recall": _round(recall),
        "f1": _round(f1),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _events(keys: np.ndarray, names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labelled events, (first, last) keys: runs of consecutive records one entry labels."""
    runs = [_runs(np.unique(keys[names == name])) for name in sorted(set(names.tolist()))]
    empty = np.zeros(0, np.int64)
    return np.concatenate([r[0] for r in runs] or [empty]), np.concatenate(
        [r[1] for r in runs] or [empty]
    )


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique keys as the (first, last) of each run of consecutive seqs of a stream."""
    if not len(keys):
        return keys, keys
    breaks = np.flatnonzero(np.diff(keys) != 1)
    return keys[np.r_[0, breaks + 1]], keys[np.r_[breaks, len(keys) - 1]]


def _touched(sorted_keys: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> int:
    """How many of the ranges [lo, hi] hold at least one of ``sorted_keys``."""
    inside = np.searchsorted(sorted_keys, hi, "right") - np.searchsorted(sorted_keys, lo)
    return int(np.count_nonzero(inside))
