"""Output files that appear whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


class AtomicFile:
    """Writes to a hidden temp file beside ``path``; :meth:`commit` fsyncs and renames it into
    place, :meth:`abort` removes it. A crash or Ctrl+C never leaves a half-written ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.synthkit-tmp")
        self._fh = open(self.tmp, "wb", buffering=0)  # noqa: SIM115 - closed in commit/abort
        self.bytes = 0

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = self._fh.write(view)
            view = view[written:]
            self.bytes += written

    def commit(self) -> None:
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self.tmp.unlink(missing_ok=True)
