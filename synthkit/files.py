"""Output files that appear whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


class AtomicFile:
    """Writes to a hidden temp file beside ``path``; :meth:`commit` renames it into place,
    :meth:`abort` removes it. A crash or Ctrl+C never leaves a half-written ``path``.

    ``durable=True`` also fsyncs file and directory before and after the rename, so the file
    survives a power loss: what state files need. Bulk artifacts skip it by default, since
    flushing gigabytes to disk would dominate generation time and the rename alone already
    guarantees that readers never see a partial file.
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = False) -> None:
        self.path = Path(path)
        self.durable = durable
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
        if self.durable:
            os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.tmp, self.path)
        if not self.durable:
            return
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self.tmp.unlink(missing_ok=True)
