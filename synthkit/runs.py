"""Run records: what a producing command emitted, per stream (device), so that what was
stored can be reconciled with it and the gaps replayed byte for byte.

A record names, per stream, the first and last seq the run handed to its sink and their
count, plus a family-owned ``recipe``: what the family needs to regenerate any of those seqs
exactly (scenario file and hash, the window start the payloads derive from, each stream's
step). Records live as one JSON file per run in the runs directory beside the state file
(``<state>.runs/``), each written atomically and durably.

A run's record is written when it starts and again each time its seqs are reserved in the
state file (``status: running``, ``last_seq`` then the highest seq reserved, which bounds
what it may have emitted), and once more when it ends (``finished``, ``interrupted`` or
``failed``, ``last_seq`` what the sink took). A run killed outright keeps its last
``running`` record: its reserved but unsent seqs then show as missing, and replaying them
emits exactly what the run would have sent.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthkit.errors import ConfigError
from synthkit.files import AtomicFile, bookkeeping

FORMAT = "synthkit.run/1"
STATUSES = ("running", "finished", "interrupted", "failed")


@dataclass(frozen=True)
class StreamRange:
    """The seqs ``first_seq..last_seq`` (``last_seq = first_seq - 1``: none)."""

    first_seq: int
    last_seq: int

    @property
    def count(self) -> int:
        return max(0, self.last_seq - self.first_seq + 1)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    command: str
    family: str
    streams: Mapping[str, StreamRange]
    status: str = "running"
    started_at: str = ""
    finished_at: str | None = None
    seed: int | None = None
    scenario_id: str | None = None
    scenario_sha256: str | None = None
    window_start: str | None = None  # the instant every stream's seqs are counted from
    live: bool = False  # delivered as it was generated (stored-after-end counts as late)
    sink: str = ""
    target: str = ""  # where the run delivered (broker address, database, endpoint), redacted
    topic: str = ""  # a broker run's topic template ({...} marks the stream's level)
    store: str = (
        ""  # the identity of the store its rows are meant to end in (store_identity; "" none named)
    )
    recipe: Mapping[str, Any] = field(default_factory=dict)  # the family's, to regenerate seqs
    unsent_schedule_s: float | None = (
        None  # a live run behind its schedule at its deadline: how much it never sent
    )
    transforms: tuple[str, ...] = ()  # the --transform chain its rows went through, in order
    transform_options: tuple[str, ...] = ()  # and its --transform-option NAME.KEY=VALUE pairs
    # the ground truth of the scenario's faults (a labels file): what they dropped or repeated
    # on purpose, which reconcile counts as meant, not as missing or duplicated
    labels: str = ""

    @property
    def emitted(self) -> int:
        return sum(r.count for r in self.streams.values())

    def to_json(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies every stream (18 ms for 2,000 of them)
        body = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "streams"}
        body["recipe"] = dict(self.recipe)
        body["transforms"], body["transform_options"] = (
            list(self.transforms),
            list(self.transform_options),
        )
        body["streams"] = {
            k: {"first_seq": r.first_seq, "last_seq": r.last_seq, "count": r.count}
            for k, r in self.streams.items()
        }
        return {"format": FORMAT, **body}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], where: str = "run record") -> RunRecord:
        try:
            if doc.get("format") != FORMAT:
                raise ValueError(f"format {doc.get('format')!r} is not {FORMAT}")
            streams = {str(k): _range(v) for k, v in doc["streams"].items()}
            known = {f for f in cls.__dataclass_fields__ if f != "streams"}
            fields = {k: v for k, v in doc.items() if k in known}
            if "topic" not in doc and isinstance(
                doc.get("recipe"), Mapping
            ):  # before records named it
                fields["topic"] = str(doc["recipe"].get("topic") or "")
            record = cls(streams=streams, **fields)
            if record.status not in STATUSES:
                raise ValueError(f"status {record.status!r} is not one of {', '.join(STATUSES)}")
            if not isinstance(record.recipe, Mapping):
                raise ValueError("recipe is not an object")
            for name in ("transforms", "transform_options"):
                value = getattr(record, name)
                if not isinstance(value, (list, tuple)) or not all(
                    isinstance(x, str) for x in value
                ):
                    raise ValueError(f"{name} is not a list of strings")
            return replace(
                record,
                transforms=tuple(record.transforms),
                transform_options=tuple(record.transform_options),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(
                f"{where}: not a readable run record ({exc})",
                hint="run records are written by synthkit; restore it or remove it",
            ) from None


MAX_SEQ = 2**63 - 1  # seqs are int64 in payloads and databases


def _range(doc: Any) -> StreamRange:
    """A stream's range, held to what a run can have written: whole seqs, 0 <= first <=
    last + 1 <= 2**63 (an edited ``last_seq`` of 1e12 is refused here, or below by the state)."""
    first, last = doc["first_seq"], doc["last_seq"]
    if type(first) is not int or type(last) is not int or not 0 <= first <= last + 1 <= MAX_SEQ + 1:
        raise ValueError(
            f"seqs {first!r}..{last!r} are not whole numbers with 0 <= first_seq <= last_seq + 1"
        )
    return StreamRange(first, last)


def topic_filter(template: str) -> str:
    """The subscription that hears a topic template: each ``{...}`` level becomes ``+``
    (``devices/{device_id}/telemetry`` -> ``devices/+/telemetry``)."""
    return "/".join("+" if "{" in level else level for level in template.split("/"))


def where_stored(record: RunRecord, identify: Callable[[str], str] | None = None) -> str:
    """The store ``record``'s rows are meant to end in: the one it names, else an ingest run's
    own target (records written before runs named their store), named by ``identify``
    (``Plugins.store_identity``; None: as written); "" for a live run that named none (its
    listener could have stored anywhere)."""
    if record.store:
        return record.store
    if record.live or not record.target:
        return ""
    return identify(record.target) if identify else record.target


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def new_run_id(command: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}Z-{command.replace(' ', '-')}-{secrets.token_hex(3)}"


def runs_dir(state_file: str | Path) -> Path:
    """The runs directory that goes with a state file: ``<dir>/<stem>.runs``."""
    path = Path(state_file)
    return path.with_name(path.stem + ".runs")


class RunLog:
    """The run records in one directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def write(self, record: RunRecord) -> None:
        path = self.directory / f"{record.run_id}.json"
        with bookkeeping(path, "the run record"):
            self.directory.mkdir(parents=True, exist_ok=True)
            f = AtomicFile(path, durable=True)
            try:
                # compact: the C encoder (indent= falls back to the pure-Python one, 10x slower);
                # `synthkit runs` is how people read them
                f.write((json.dumps(record.to_json(), separators=(",", ":")) + "\n").encode())
            except BaseException:
                f.abort()
                raise
            f.commit()

    def remove(self, run_id: str) -> None:
        """Delete a record (and the directory, once empty)."""
        (self.directory / f"{run_id}.json").unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.directory.rmdir()

    def load(self, run_id: str) -> RunRecord:
        if not RUN_ID.fullmatch(run_id):
            raise ConfigError(
                f"{run_id[:60]!r}{'...' if len(run_id) > 60 else ''} is not a run id",
                hint="`synthkit runs` lists them: letters, digits, '.', '_' and '-', at most 200",
            )
        path = self.directory / f"{run_id}.json"
        if not path.is_file():
            known = ", ".join(r.run_id for r in self.records()[-5:]) or "none"
            raise ConfigError(
                f"no run record {run_id!r} in {self.directory}",
                hint=f"`synthkit runs` lists them (latest: {known}); check --state-file",
            )
        return self._read(path)

    def records(self) -> list[RunRecord]:
        """Every record, oldest first."""
        if not self.directory.is_dir():
            return []
        found = [self._read(p) for p in self.directory.glob("*.json")]
        return sorted(found, key=lambda r: (r.started_at, r.run_id))

    @staticmethod
    def _read(path: Path) -> RunRecord:
        from synthkit.files import read_json

        doc = read_json(path, "a readable run record", hint="restore it or remove it")
        return RunRecord.from_json(doc, str(path))


class RunRecorder:
    """Keeps one run's record up to date as its seqs are reserved and taken (see the module
    docstring); ``ids[i]`` is the stream whose first seq is ``first[i]``. Like the state
    file, a run that never reserved a seq, or gave back all it reserved because it failed,
    leaves no record."""

    def __init__(
        self, log: RunLog, record: RunRecord, ids: Iterable[str], first: Iterable[int]
    ) -> None:
        self.log, self.ids, self.first = log, list(ids), [int(x) for x in first]
        self.record = replace(
            record,
            started_at=record.started_at or utc_now(),
            streams=self._streams([f - 1 for f in self.first]),
        )
        self.written = False

    def _streams(self, last: Iterable[int]) -> dict[str, StreamRange]:
        return {
            i: StreamRange(f, max(f - 1, int(s))) for i, f, s in zip(self.ids, self.first, last)
        }

    def reserved(self, last: Iterable[int]) -> None:
        """The highest seq reserved per stream: an upper bound of what the run emitted."""
        self.record = replace(self.record, streams=self._streams(last))
        self.log.write(self.record)
        self.written = True

    def finished(self, last: Iterable[int], status: str = "finished") -> RunRecord:
        """What the sink took, per stream, and how the run ended."""
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {STATUSES}")
        self.record = replace(
            self.record, streams=self._streams(last), status=status, finished_at=utc_now()
        )
        if self.record.emitted:
            self.log.write(self.record)
        elif self.written:  # everything given back: no trace, as the state file
            self.log.remove(self.record.run_id)
        return self.record
