"""jsonl_gz: a partner sink writing gzip-compressed JSON lines, atomically."""

from __future__ import annotations

import gzip
import os

from synthkit import hookimpl
from synthkit.api import AtomicFile, Batch, Encoder, SinkReport, SinkSpec


class GzipJsonlSink:
    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = os.fspath(target)
        self.encoder = Encoder("jsonl")
        self.records = 0

    def open(self, columns: tuple[str, ...]) -> None:
        self.file = AtomicFile(self.target)  # appears whole, or not at all
        self.gz = gzip.GzipFile(fileobj=self.file, mode="wb", mtime=0)  # mtime=0: same bytes

    def write(self, batch: Batch) -> None:
        for part in self.encoder.encode(batch):
            self.gz.write(part)
        self.records += batch.n

    def close(self) -> SinkReport:
        self.gz.close()
        self.file.commit()
        return SinkReport("jsonl_gz", self.records, self.file.bytes, self.target)

    def abort(self) -> None:
        self.file.abort()


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [SinkSpec("jsonl_gz", GzipJsonlSink, extensions=(".jsonl.gz", ".gz"))]
