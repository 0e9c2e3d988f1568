"""Output files that appear whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthkit.errors import OutputError

if TYPE_CHECKING:  # numpy and the direct writer load with the first file that needs them:
    import numpy as np  # run records and state files are written by commands that start fast

    from synthkit.directio import DirectWriter


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file, read in 4 MiB chunks (hashlib releases the GIL on them)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_json(path: str | os.PathLike[str], what: str, hint: str) -> Any:
    """``path``'s JSON, or one ConfigError saying it is not ``what`` (and ``hint``)."""
    from synthkit.errors import ConfigError

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise ConfigError(f"{path}: not {what} ({exc})", hint=hint) from None


TEMP_SUFFIX = ".synthkit-tmp"
_TEMP = re.compile(r"^\..+\.(\d+)" + re.escape(TEMP_SUFFIX) + "$")


def temp_path(final: Path) -> Path:
    """The hidden temp name beside ``final`` that this process writes before the rename."""
    return final.with_name(f".{final.name}.{os.getpid()}{TEMP_SUFFIX}")


def landing(path: str | os.PathLike[str]) -> tuple[Path, bool]:
    """(where writing ``path`` lands, whether it is a stream): a symbolic link's target (the
    link stays a link; its target is what gets replaced), and for a character device, FIFO or
    socket (``/dev/stdout``, a pipe) that device itself, written to as it is: replacing it with
    a regular file would take it away from everyone else."""
    p = Path(path)
    try:
        mode = os.stat(p).st_mode  # through every link
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return p, True
    return (Path(os.path.realpath(p)) if p.is_symlink() else p), False


@contextlib.contextmanager
def bookkeeping(path: Path, what: str) -> Iterator[None]:
    """Writing one of synthkit's own files (the state, a run record): a full disk or a
    refused write is an :class:`OutputError` that names the file, not an internal error."""
    try:
        yield
    except OSError as exc:
        raise OutputError(
            f"cannot write {what} {path}: {exc.strerror or exc}",
            hint=f"{_REMEDY.get(exc.errno or 0, _ANY_REMEDY)}; what was written before is intact",
        ) from exc


# what to do about a refused write, by its cause (the message names the file)
_ANY_REMEDY = "free some space (or fix the permissions)"
_REMEDY = {
    errno.ENOSPC: "free some space",
    errno.EDQUOT: "free some space (the disk quota is full)",
    errno.EACCES: "fix the permissions",
    errno.EPERM: "fix the permissions",
    errno.EROFS: "the file system is read-only: write somewhere else",
    errno.ENOENT: "its directory does not exist (or was removed while writing): create it",
    errno.ENOTDIR: "a part of the path is a file, not a directory: fix the path",
}


def process_alive(pid: object) -> bool:
    """Is ``pid`` a running process on this machine (another user's counts)?"""
    if type(pid) is not int or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def missing_parents(directory: Path) -> list[Path]:
    """The directories that ``mkdir(parents=True)`` would create, outermost first (what a
    writer that fails removes again, to leave the tree as it found it)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    return list(reversed(missing))


def sweep_stale(directory: str | os.PathLike[str]) -> int:
    """Remove temp files and directories left in ``directory`` by synthkit processes that
    died before they could (SIGKILL, power loss); returns how many. A temp of a live process
    (or of this one) is kept."""
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        m = _TEMP.match(entry.name)
        if m is None or int(m.group(1)) == os.getpid() or process_alive(int(m.group(1))):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed += 1
        except OSError:
            pass  # another sweeper got there first, or not ours to remove
    return removed


class AtomicFile(io.IOBase):
    """Writes to a hidden temp file beside ``path``; :meth:`commit` renames it into place,
    :meth:`abort` removes it. A crash or Ctrl+C never leaves a half-written ``path``.

    It is a binary file object (``write``, ``tell``, ``flush``, ``closed``...), so libraries
    that write to one (pyarrow's Parquet writer) can write into it. ``close()`` without
    ``commit()`` is :meth:`abort`: a file abandoned or closed by a library never appears.

    ``durable=True`` also fsyncs file and directory before and after the rename, so the file
    survives a power loss: what state files need. Bulk artifacts skip it by default, since
    flushing gigabytes to disk would dominate generation time and the rename alone already
    guarantees that readers never see a partial file.

    ``direct=True`` streams through :class:`~synthkit.directio.DirectWriter` (page-cache bypass
    on a background thread): for large sequential artifacts, where it is several times faster
    and uses a fraction of the CPU.
    """

    # until __init__ has its file open, there is nothing to close or remove (IOBase's __del__
    # calls close() on a half-built object too)
    _closed = True
    _committed = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durable: bool = False,
        direct: bool = False,
        digest: Any = None,
    ) -> None:
        self.path, self.stream = landing(path)
        self.durable = durable and not self.stream
        self.tmp = temp_path(self.path)
        self._direct: DirectWriter | None = None
        if self.stream:  # a device or pipe: written to as it is, nothing to rename
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
        else:
            self.tmp.unlink(missing_ok=True)  # a leftover of a killed run with our pid
            sweep_stale(self.path.parent)
            if direct:
                from synthkit.directio import DirectWriter, open_direct

                fd, accepted = open_direct(self.tmp)
                self._direct = DirectWriter(fd, direct=accepted, digest=digest)
                self._fd = fd
            else:
                self._fd = os.open(
                    self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644
                )
        self.digest = digest  # hashlib object: sees every byte written, in order
        self._closed = False
        self._committed = False
        self._scratch: np.ndarray | None = None
        self.bytes = 0

    def reserve(self, size: int) -> np.ndarray:
        """Space to encode up to ``size`` bytes in place; then :meth:`advance` by what was
        used. With ``direct=True`` this is the file's own I/O buffer (no copy)."""
        if self._direct is not None:
            return self._direct.reserve(size)
        if self._scratch is None or self._scratch.shape[0] < size + 16:
            import numpy as np

            self._scratch = np.empty(size + 16, np.uint8)
        return self._scratch

    def advance(self, n: int) -> None:
        if self._direct is not None:
            self._direct.advance(n)
            self.bytes = self._direct.length
        else:
            assert self._scratch is not None  # handed out by buffer() before any advance
            self.write(self._scratch.data[:n])

    def write(self, data: bytes | memoryview) -> int:
        if self._closed:
            raise ValueError(f"write to a closed file ({self.path})")
        view = memoryview(data).cast("B")
        size = view.nbytes
        if self._direct is not None:
            self._direct.write(view)
            self.bytes = self._direct.length
            return size
        if self.digest is not None:
            self.digest.update(view)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
            self.bytes += written
        return size

    # the rest of the binary file protocol
    @property
    def closed(self) -> bool:
        return self._closed

    def tell(self) -> int:
        return self.bytes

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        """Nothing to do: bytes go to the file (or its direct writer) as they are written."""

    def close(self) -> None:
        if not self._committed:
            self.abort()

    def commit(self) -> None:
        try:
            if self._direct is not None:
                self.bytes = self._direct.finish()
            if self.durable:
                os.fsync(self._fd)
        except BaseException:
            self.abort()
            raise
        self._close()
        self._committed = True
        if self.stream:
            return
        os.replace(self.tmp, self.path)
        if not self.durable:
            return
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def abort(self) -> None:
        self._close()
        if not self._committed and not self.stream:
            self.tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._direct is not None:
            self._direct.close()
        os.close(self._fd)
