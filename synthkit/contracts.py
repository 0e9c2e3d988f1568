"""The sink contract: one abstract base class per sink kind, the target each kind is handed,
and the options model a sink validates its ``--sink-option KEY=VALUE`` flags with.

A command knows what it produces and where to (a path, a database URL, a broker address);
it builds the target of the sink's kind and :func:`make_sink` makes the one call every sink
of that kind answers: ``factory(target, options)``. No command special-cases a sink.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from synthkit.batch import Batch
    from synthkit.brokers import Endpoint
    from synthkit.files import AtomicFile
    from synthkit.notes import Notes
    from synthkit.records import SinkReport
    from synthkit.run import RunPlan


class SinkOptions(BaseModel):
    """A sink's options, from ``--sink-option KEY=VALUE``: subclass it, declare typed fields
    with defaults, and name it in ``SinkSpec(options=...)``. Unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------------------- targets


@dataclass
class FileTarget:
    """Where a file sink writes: ``path``, which must appear whole or not at all (write
    through :meth:`atomic_file`). A command that hashes what it writes (export-csv's
    manifest) passes ``digest``; the file fills it on its I/O thread."""

    path: Path
    digest: Any = None  # a hashlib object, or None
    direct: bool = True  # large sequential writes: bypass the page cache when possible
    kind: ClassVar[str] = "file"
    digested: bool = field(default=False, init=False)

    def atomic_file(self, *, durable: bool = False) -> AtomicFile:
        """The temp file beside :attr:`path` that ``commit()`` renames into place."""
        from synthkit.files import AtomicFile

        self.digested = self.digest is not None
        return AtomicFile(self.path, direct=self.direct, digest=self.digest, durable=durable)

    def sha256(self) -> str:
        """The sha256 of what was written: from the digest the file filled, else read back
        (a directory: of its files' names and bytes, in sorted order)."""
        if self.digested:
            return str(self.digest.hexdigest())
        from synthkit.dataset import sha256_tree

        return sha256_tree(self.path)


@dataclass(frozen=True)
class StreamTarget:
    """Where a stream sink writes: a binary stream (None: stdout), flushed batch by batch."""

    stream: BinaryIO | None = None
    kind: ClassVar[str] = "stream"


@dataclass(frozen=True)
class IngestTarget:
    """Where an ingest sink delivers: ``url`` (a database URL or an endpoint). With
    ``apply=False`` it checks every record and writes nothing (a dry run). ``commit_rows``
    records per transaction or request when the command fixes it (None: the sink's choice);
    ``drain_analytics`` > 0 asks a database sink to run its analytics consumer at close."""

    url: str
    apply: bool = True
    commit_rows: int | None = None
    drain_analytics: int = 0
    stop: threading.Event | None = None  # set when the run is asked to stop: stop waiting
    kind: ClassVar[str] = "ingest"


Payloads = Callable[["Batch"], list[bytes]]  # one message per row, in row order


@dataclass(frozen=True)
class BrokerTarget:
    """Where a broker sink publishes: ``endpoint`` (the broker as the sink's own resolver
    made it, ``SinkSpec.endpoint``: its URL, and settings only the sink reads), one
    connection per client (``clients``; a row's client is its ``client_column`` label),
    each row one message on ``topic`` with ``{<client_column>}`` replaced. ``payloads`` is
    the family's message layout (None: each row's JSON line)."""

    endpoint: Endpoint
    clients: Sequence[str]
    topic: str
    client_column: str = "device_id"
    qos: int = 1
    client_id_prefix: str = ""
    drain_timeout_s: float = 30.0
    payloads: Payloads | None = None
    kind: ClassVar[str] = "broker"

    @property
    def address(self) -> str:
        """``host:port`` of the endpoint, for messages."""
        return self.endpoint.address


Target = FileTarget | StreamTarget | IngestTarget | BrokerTarget


# ---------------------------------------------------------------------------- sink kinds


class Sink(ABC):
    """A destination for batches. The core calls ``open`` once, ``write`` for each batch,
    then ``close`` (which returns the report); on any failure or interrupt it calls
    ``abort`` instead of ``close``, and the sink must leave nothing half-written."""

    kind: ClassVar[str]

    def begin(self, plan: RunPlan) -> None:
        """Before ``open``: the whole run as planned (command, window, streams, rows)."""

    @abstractmethod
    def open(self, columns: tuple[str, ...]) -> None: ...

    @abstractmethod
    def write(self, batch: Batch) -> None: ...

    @abstractmethod
    def close(self) -> SinkReport: ...

    @abstractmethod
    def abort(self) -> None: ...


class FileSink(Sink):
    """Built with ``factory(FileTarget, options)``: writes ``target.path`` whole or not at all."""

    kind = "file"


class StreamSink(Sink):
    """Built with ``factory(StreamTarget, options)``: whole records, flushed per batch."""

    kind = "stream"


class IngestSink(Sink):
    """Built with ``factory(IngestTarget, options)``. Its report's ``outcomes`` count every
    record as ``stored:...``, ``duplicate:...`` or ``rejected:REASON``; with
    ``target.apply`` False it checks and writes nothing."""

    kind = "ingest"


class BrokerSink(Sink):
    """Built with ``factory(BrokerTarget, options)``: per-client delivery counts."""

    kind = "broker"

    @abstractmethod
    def per_client(self) -> dict[str, dict[str, int]]:
        """For each client: emitted, acknowledged, failed, reconnects."""

    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """After close: totals, ``broker_acknowledged_all`` and ``warnings`` (what was not delivered)."""


CONTRACTS: dict[str, type[Sink]] = {
    c.kind: c for c in (FileSink, StreamSink, IngestSink, BrokerSink)
}


class Transform(ABC):
    """A stage between generator and sink, built as ``factory(options, seed)``. Its life:
    ``columns`` and ``begin(plan)`` before anything is written, ``apply(batch)`` for each
    batch (it returns the batch changed: new columns, fewer rows or columns, other values),
    ``taken(batch, notes)`` once the sink took what this stage returned, ``end(notes)``
    after the last batch, before the outputs are committed (never after a failure). Draw any
    randomness from ``seed`` (derived from the run's seed), never from the clock.

    What it knows that is not data (ground-truth labels, counters) goes to ``notes``: rows
    of the tables named in ``note_tables``, written with the run's outputs, whole or not at
    all (:class:`~synthkit.notes.Notes`)."""

    note_tables: tuple[str, ...] = ()  # the notes tables this transform writes ("labels")
    # True when ``taken`` needs nothing kept from the last ``apply`` (it reads only the batch
    # it is given): the run may then apply this stage a batch or two ahead of the sink, on
    # its own thread, overlapping generation, transforms and writing
    ahead: ClassVar[bool] = False

    def columns(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """The column names the sink will be opened with, given the ones before this stage."""
        return columns

    def begin(self, plan: RunPlan) -> None:
        """Before the first batch: the whole run as planned."""

    @abstractmethod
    def apply(self, batch: Batch) -> Batch: ...

    def taken(self, batch: Batch, notes: Notes) -> None:
        """The sink took ``batch`` (what this stage's last ``apply`` returned): the place to
        write notes about its records. Not called for a batch the sink refused; called when
        the chain emptied the batch (nothing was refused: a dropped record's label stands)."""

    def drain(self) -> Batch | None:
        """After the last batch: rows this stage held back (a delayed delivery), to be
        delivered now through the stages after it (None: nothing held)."""
        return None

    def end(self, notes: Notes) -> None:
        """After the last batch the sink took, before the outputs are committed."""
