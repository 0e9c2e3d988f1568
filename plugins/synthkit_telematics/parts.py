"""``telematics generate --shard K/N --out DIR``: the shard's events as one part of the
dataset ``DIR`` (``part-0000K-of-0000N.jsonl`` and its labels beside), recorded once
written; ``--shards N`` runs them all and seals the dataset."""

from __future__ import annotations

import glob
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthkit.api import (
    ConfigError,
    FileTarget,
    Part,
    PartFile,
    Run,
    Shard,
    SinkReport,
    SinkSpec,
    part_file,
    part_name,
)
from synthkit_telematics.config import TelematicsConfig


def check_sharded(out: str | None, shard: str | None) -> None:
    """``--shards N`` writes a dataset of files, with no ``--shard`` beside it."""
    if shard is not None:
        raise ConfigError("--shard and --shards are one or the other", hint="give one")
    if not out or "://" in out:
        raise ConfigError(
            "--shards writes a dataset of files: --out names its directory",
            hint="give --out events.jsonl (a directory of parts); into an endpoint or a "
            "database, run each --shard K/N on its own",
        )


def spread_start(shard: str | None, start: str | None) -> tuple[str, ...]:
    """``publish --workers N``: no ``--shard`` beside it, and the simulated start the shards
    share (the one given, else now, decided once)."""
    if shard is not None:
        raise ConfigError("--shard and --workers are one or the other", hint="give one")
    if start is not None:
        return ()
    now = datetime.now(UTC).replace(microsecond=0)
    return ("--start", now.strftime("%Y-%m-%dT%H:%M:%SZ"))


def part_about(
    run: Run,
    config: TelematicsConfig,
    events: int,
    spec: SinkSpec,
    sink_options: list[str] | None,
) -> dict[str, Any]:
    """What makes the parts one run's: every input of the events and of their bytes."""
    return {
        "command": "telematics generate",
        "config": config.model_dump(mode="json"),
        "events": events,
        "sink": spec.name,
        "sink_options": sorted(sink_options or ()),
        "transforms": [*run.transforms, *run.transform_options],
    }


def part_output(
    about: dict[str, Any], spec: SinkSpec, out: str, shard: Shard
) -> tuple[FileTarget, Part]:
    """Where a shard writes (``out`` is the dataset's directory, made if need be) and its
    part there. A shard that fails leaves the directory: the other shards, running beside
    it, write there too (removing it "if empty" would race with them)."""
    directory = Path(out)
    try:
        directory.mkdir(exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot make the dataset directory {directory}: {exc.strerror}",
            hint="with --shard, --out names a directory that holds one part per shard",
        ) from None
    suffix = "".join(directory.suffixes) or (spec.extensions[:1] or ("",))[0]
    target = FileTarget(directory / part_name(shard, suffix), digest=hashlib.sha256())
    return target, Part(shard, directory, about)


def record_part(
    part: Part, target: FileTarget, report: SinkReport, summary: dict[str, Any]
) -> None:
    """The part's record: its rows file, and what the run wrote beside it (labels, notes)."""
    if part.shard is None:
        return
    summary["dataset"] = str(part.directory)
    rows = PartFile(target.path.name, target.sha256(), report.bytes, report.records)
    beside = sorted(part.directory.glob(glob.escape(target.path.name) + ".*"))
    part.record([rows, *(part_file(part.directory, p) for p in beside)], summary)
