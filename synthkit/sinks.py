"""Building blocks for sink plugins: encoded files and encoded streams."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from synthkit.batch import Batch
from synthkit.contracts import FileSink, FileTarget, StreamSink
from synthkit.directio import MAX_RESERVE
from synthkit.encode import Encoder, Format
from synthkit.errors import OutputError
from synthkit.files import AtomicFile
from synthkit.records import SinkReport


class EncodedFileSink(FileSink):
    """Writes batches to one file as JSON lines or CSV, atomically (see :class:`AtomicFile`)."""

    def __init__(
        self, name: str, target: FileTarget | str | os.PathLike[str], fmt: Format, *, header: bool
    ):
        self.name = name
        self.file_target = target if isinstance(target, FileTarget) else FileTarget(Path(target))
        self.target = os.fspath(self.file_target.path)
        # One encoding thread: generation, encoding and the device already run in parallel
        # (engine + direct I/O threads); splitting batches too measured slower on 2 cores.
        self.encoder = Encoder(fmt, threads=1)
        self.header = header
        self.records = 0
        self._file: AtomicFile | None = None

    def open(self, columns: tuple[str, ...]) -> None:
        with self._io_errors():
            self._file = self.file_target.atomic_file()
            if self.header:
                self._file.write(self.encoder.header(columns))

    def write(self, batch: Batch) -> None:
        assert self._file is not None, "open() first"
        if batch.n == 0:
            return
        plan = self.encoder.plan(batch)
        # encode slices straight into the file's I/O buffers: no intermediate copy
        step = max(1, (MAX_RESERVE - 16) // plan.row_bound)
        with self._io_errors():
            for r0 in range(0, batch.n, step):
                r1 = min(batch.n, r0 + step)
                out = self._file.reserve(self.encoder.bound(plan, r1 - r0))
                self._file.advance(self.encoder.encode_into(plan, r0, r1, out))
        self.records += batch.n

    def close(self) -> SinkReport:
        assert self._file is not None, "open() first"
        with self._io_errors():
            self._file.commit()
        self.encoder.close()
        return SinkReport(self.name, self.records, self._file.bytes, self.target)

    @contextmanager
    def _io_errors(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.target}: {exc.strerror or exc}",
                hint="free some space, or write somewhere else with --out",
            ) from exc

    def abort(self) -> None:
        if self._file is not None:
            self._file.abort()
        self.encoder.close()


class EncodedStreamSink(StreamSink):
    """Writes batches to a byte stream (stdout by default), flushing after every batch so a
    reader sees whole lines as soon as they exist."""

    def __init__(self, name: str, fmt: Format = "jsonl", stream: BinaryIO | None = None):
        self.name = name
        self.encoder = Encoder(fmt, threads=1)
        self.stream = stream if stream is not None else sys.stdout.buffer
        self.records = 0
        self.bytes = 0
        self.header = fmt == "csv"

    def open(self, columns: tuple[str, ...]) -> None:
        if self.header:
            self.stream.write(self.encoder.header(columns))

    def write(self, batch: Batch) -> None:
        data = self.encoder.encode_bytes(batch)
        self.stream.write(data)  # one write per batch: lines are never split by us
        self.stream.flush()
        self.records += batch.n
        self.bytes += len(data)

    def close(self) -> SinkReport:
        self.stream.flush()
        return SinkReport(self.name, self.records, self.bytes, "stdout")

    def abort(self) -> None:
        try:
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass
