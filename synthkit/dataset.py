"""Datasets: a sharded run's output as one directory, one part per shard, and a manifest
written last as the commit point.

Layout (the Spark/Hive convention that files starting with ``_`` or ``.`` are not data)::

    DIR/part-00002-of-00004.jsonl          a shard's output (a file, or a directory of files)
    DIR/_parts/part-00002-of-00004.json    that part's record, written once its files are in place
    DIR/dataset.json                       every part with its sha256 and row count: the commit

A shard (``--shard K/N``, or a task of an executor) writes its part atomically and then its
record; :func:`seal` checks that the N records are all there, of one run, and their files as
recorded, and only then writes ``dataset.json``. A reader trusts a directory with
``dataset.json`` and nothing else, so a shard that died half way (its temp files, or a part
with no record) never shows. Writing a part again with the same inputs gives the same bytes,
so a task executed twice (Dask's at-least-once) is harmless.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthkit.errors import ConfigError
from synthkit.files import AtomicFile, read_json, sha256_file, sweep_stale
from synthkit.shards import Shard

MANIFEST = "dataset.json"
FORMAT = "synthkit.dataset/1"
RECORDS = "_parts"


def sha256_tree(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file, or of a directory's files' names and bytes in sorted order
    (a partitioned Parquet dataset, say)."""
    root = Path(path)
    if not root.is_dir():
        return sha256_file(root)
    digest = hashlib.sha256()
    for p in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(p.relative_to(root).as_posix().encode() + b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
    return digest.hexdigest()


def size_of(path: str | os.PathLike[str]) -> int:
    """The bytes of a file, or of every file in a directory."""
    root = Path(path)
    if not root.is_dir():
        return root.stat().st_size
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def part_name(shard: Shard, suffix: str = "") -> str:
    """``part-00002-of-00004`` + ``suffix``: names that sort in shard order."""
    return f"part-{shard.k:05d}-of-{shard.n:05d}{suffix}"


@dataclass(frozen=True)
class PartFile:
    """One file of a part, by its path relative to the dataset directory."""

    path: str
    sha256: str
    bytes: int
    rows: int | None = None  # None: not a rows file (labels, a manifest)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def part_file(directory: Path, path: Path, rows: int | None = None) -> PartFile:
    """``path`` (inside ``directory``) as a part's file: its sha256 and size."""
    return PartFile(path.relative_to(directory).as_posix(), sha256_tree(path), size_of(path), rows)


def is_dataset(path: Path) -> bool:
    return (path / MANIFEST).is_file()


class Part:
    """A shard's part of a dataset in ``directory`` (no shard: an unsharded run, for which
    everything here does nothing): whether it is already written for this run (``about``:
    the run's inputs), and its record once it is."""

    def __init__(self, shard: Shard | None, directory: Path, about: Mapping[str, Any]) -> None:
        self.shard, self.directory, self.about = shard, directory, dict(about)

    @property
    def record_path(self) -> Path:
        assert self.shard is not None
        return self.directory / RECORDS / part_name(self.shard, ".json")

    def done(self) -> bool:
        """Whether this run's part is already recorded (a task executed again, or a shard run
        again with the same inputs, finds its own output and keeps it); a ConfigError when
        the directory is sealed, or holds this shard's part of another run."""
        if self.shard is None:
            return False
        if (self.directory / MANIFEST).exists():
            raise ConfigError(
                f"{self.directory} is a sealed dataset ({MANIFEST} is written)",
                hint="write the shards into another directory; a sealed dataset never changes",
            )
        if not self.record_path.is_file():
            return False
        if _read(self.record_path).get("about") != self.about:
            raise ConfigError(
                f"{self.directory} holds a part {part_name(self.shard)} of another run",
                hint="write this run's shards into another directory (another --run-id or --out)",
            )
        return True

    def summary(self) -> dict[str, Any]:
        """The summary recorded with the part, saying it was kept."""
        return {**(_read(self.record_path).get("summary") or {}), "kept": True}

    def record(self, files: Sequence[PartFile], summary: Mapping[str, Any]) -> None:
        """The part's record, written (atomically) once its files are in place."""
        if self.shard is None:
            return
        doc = {
            "shard": str(self.shard),
            "about": self.about,
            "files": [f.to_json() for f in files],
            "summary": dict(summary),
        }
        (self.directory / RECORDS).mkdir(exist_ok=True)
        out = AtomicFile(self.record_path, durable=True)
        out.write((json.dumps(doc, indent=1) + "\n").encode())
        out.commit()


def seal(directory: Path, *, verify: bool = True) -> dict[str, Any]:
    """Write ``dataset.json`` from the part records, once all N parts of one run are there
    and their files are as recorded (``verify``: their sha256 too); returns it. A
    ConfigError naming what is missing otherwise; nothing is written then."""
    if (directory / MANIFEST).exists():
        return json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    records = sorted((directory / RECORDS).glob("part-*.json"))
    if not records:
        raise ConfigError(
            f"{directory}: no part records in {RECORDS}/",
            hint="run the shards (--shard K/N) into this directory first",
        )
    docs = [_read(r) for r in records]
    n = _shard(docs[0], records[0]).n
    about = docs[0].get("about")
    got = {}
    for doc, where in zip(docs, records):
        shard = _shard(doc, where)
        if shard.n != n or doc.get("about") != about:
            raise ConfigError(
                f"{where}: a part of another run ({shard} beside parts of {n})",
                hint="keep one run's shards per directory",
            )
        got[shard.k] = doc
    missing = [str(Shard(k, n)) for k in range(1, n + 1) if k not in got]
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise ConfigError(
            f"{directory}: {len(missing)} of {n} shard(s) not written yet ({shown})",
            hint="run each missing shard (--shard K/N) into this directory, then seal again",
        )
    parts = [got[k] for k in range(1, n + 1)]
    for doc in parts:
        for f in doc["files"]:
            _check_file(directory, f, verify)
    sweep_stale(directory)  # temp files of a worker that died mid-part (or mid-record)
    sweep_stale(directory / RECORDS)
    manifest = {
        "format": FORMAT,
        "shards": n,
        "about": about,
        "rows": sum(f.get("rows") or 0 for doc in parts for f in doc["files"]),
        "parts": [{"shard": doc["shard"], "files": doc["files"]} for doc in parts],
    }  # no timings: the same run's dataset.json is the same bytes
    out = AtomicFile(directory / MANIFEST, durable=True)
    out.write((json.dumps(manifest, indent=1) + "\n").encode())
    out.commit()  # the commit point: from here on the directory is a dataset
    return manifest


def open_dataset(directory: Path) -> dict[str, Any]:
    """A sealed dataset's manifest (a ConfigError naming the fix when it is not one)."""
    path = directory / MANIFEST
    if not path.is_file():
        hint = (
            "its shards are written but not sealed: `synthkit dataset seal DIR`"
            if (directory / RECORDS).is_dir()
            else "point at a dataset directory (one a sharded run wrote)"
        )
        raise ConfigError(f"{directory}: no {MANIFEST}", hint=hint)
    doc = _read(path)
    if doc.get("format") != FORMAT or not isinstance(doc.get("parts"), list):
        raise ConfigError(f"{path}: not a {FORMAT} manifest", hint="seal the dataset again")
    return doc


def part_files(
    directory: Path, manifest: Mapping[str, Any]
) -> Iterator[tuple[Shard, Path, dict[str, Any]]]:
    """(shard, path, entry) of each rows file, in shard order."""
    for part in manifest["parts"]:
        shard = Shard.parse(part["shard"])
        assert shard is not None
        for f in part["files"]:
            if f.get("rows") is not None:
                yield shard, directory / f["path"], f


def verify(directory: Path, manifest: Mapping[str, Any]) -> list[str]:
    """Each file of a sealed dataset that is missing or differs from its manifest."""
    problems = []
    for part in manifest["parts"]:
        for entry in part["files"]:
            try:
                _check_file(directory, entry, True)
            except ConfigError as exc:
                problems.append(exc.message)
    return problems


def _check_file(directory: Path, entry: Mapping[str, Any], verify: bool) -> None:
    path = directory / entry["path"]
    if not path.exists() or size_of(path) != entry["bytes"]:
        raise ConfigError(
            f"{path}: missing or not the size its part record says ({entry['bytes']} bytes)",
            hint="run that shard again (its output is written again, identically)",
        )
    if verify and sha256_tree(path) != entry["sha256"]:
        raise ConfigError(
            f"{path}: its sha256 differs from its part record's",
            hint="run that shard again (its output is written again, identically)",
        )


def _shard(doc: Mapping[str, Any], where: Path) -> Shard:
    try:
        shard = Shard.parse(str(doc["shard"]))
    except (KeyError, ConfigError):
        shard = None
    if shard is None:
        raise ConfigError(f"{where}: not a part record", hint="run that shard again")
    return shard


def _read(path: Path) -> dict[str, Any]:
    doc = read_json(path, "readable JSON", hint="run that shard again")
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: not a JSON object", hint="run that shard again")
    return doc
