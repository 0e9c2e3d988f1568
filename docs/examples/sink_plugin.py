"""jsonl_gz: a partner sink writing gzip-compressed JSON lines, atomically."""

from __future__ import annotations

import gzip

from pydantic import Field

from synthkit import hookimpl
from synthkit.api import Batch, Encoder, FileSink, FileTarget, SinkOptions, SinkReport, SinkSpec


class GzipOptions(SinkOptions):
    """``--sink-option level=6``: checked (an int 1..9) before anything is written."""

    level: int = Field(9, ge=1, le=9)


class GzipJsonlSink(FileSink):
    def __init__(self, target: FileTarget, options: GzipOptions) -> None:
        self.target = target
        self.level = options.level
        self.encoder = Encoder("jsonl")
        self.records = 0

    def open(self, columns: tuple[str, ...]) -> None:
        self.file = self.target.atomic_file()  # appears whole, or not at all
        self.gz = gzip.GzipFile(
            fileobj=self.file, mode="wb", compresslevel=self.level, mtime=0
        )  # mtime=0: same bytes

    def write(self, batch: Batch) -> None:
        for part in self.encoder.encode(batch):
            self.gz.write(part)
        self.records += batch.n

    def close(self) -> SinkReport:
        self.gz.close()
        self.file.commit()
        return SinkReport("jsonl_gz", self.records, self.file.bytes, str(self.target.path))

    def abort(self) -> None:
        self.file.abort()


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [
        SinkSpec("jsonl_gz", GzipJsonlSink, extensions=(".jsonl.gz", ".gz"), options=GzipOptions)
    ]
