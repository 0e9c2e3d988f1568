"""Sequential file writing that bypasses the page cache (``O_DIRECT``), on a background thread.

Why: buffered ``write()`` makes the kernel allocate a fresh page-cache page for every 4 KiB
written, under the file's inode lock; on a VM whose host backs guest memory lazily that costs
3-11 us per page, which for gigabyte artifacts was most of a run's time. With ``O_DIRECT`` the
device reads straight from a few reused, page-aligned buffers: measured on this project's
2-vCPU VM, 3.46 GB in 1.8 s for 0.15 s of CPU, against 9.6 s buffered.

``O_DIRECT`` needs aligned buffers, sizes and offsets, so bytes go through aligned staging
buffers of ``CHUNK`` bytes; the last, partial buffer is padded to the alignment and the file is
then truncated to its real length. A filesystem that refuses ``O_DIRECT`` (at open or at the
first write) is written the ordinary way instead: same bytes, just slower.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import queue
import threading
from typing import Any

import numpy as np

ALIGN = 4096  # covers every logical block size in practice (512 or 4096)
CHUNK = 8 << 20  # per write: large enough to stream, small enough to overlap with the producer
BUFFERS = 4  # one being filled, the rest in flight
MAX_RESERVE = CHUNK // 4  # a reservation always fits in a fresh buffer beside the carried tail


def open_direct(path: str | os.PathLike[str]) -> tuple[int, bool]:
    """Create ``path`` for writing; ``(fd, True)`` if ``O_DIRECT`` was accepted."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    direct = getattr(os, "O_DIRECT", 0)
    if direct:
        try:
            return os.open(path, flags | direct, 0o644), True
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: this filesystem has no direct I/O
                raise
    return os.open(path, flags, 0o644), False


class DirectWriter:
    """Appends bytes to ``fd`` (opened by :func:`open_direct`) through aligned buffers written
    by a background thread. Errors from that thread surface at the next :meth:`write` or at
    :meth:`finish`. ``finish`` returns the file length; ``close`` always releases everything.
    """

    def __init__(self, fd: int, *, direct: bool, digest: Any = None) -> None:
        self.fd = fd
        self.direct = direct
        self.digest = digest  # a hashlib object, fed on the I/O thread in file order
        self.length = 0
        self._free: queue.Queue[mmap.mmap] = queue.Queue()
        for _ in range(BUFFERS):
            self._free.put(mmap.mmap(-1, CHUNK))  # anonymous maps are page-aligned
        self._full: queue.Queue[tuple[mmap.mmap, int] | None] = queue.Queue()
        self._buf: mmap.mmap | None = None
        self._array = np.empty(0, np.uint8)
        self._take()
        self._fill = 0
        self._error: BaseException | None = None
        self._offset = 0  # where the I/O thread writes next
        self._thread = threading.Thread(target=self._run, name="synthkit-io", daemon=True)
        self._thread.start()

    def reserve(self, size: int) -> np.ndarray:
        """Writable space for up to ``size`` bytes at the end of the file (plus 16 bytes of
        slack for 8-byte stores): fill a prefix of it, then call :meth:`advance`. Producers
        such as the encoder write here directly, so bytes are never copied."""
        if size > MAX_RESERVE:
            raise ValueError(f"reserve at most {MAX_RESERVE} bytes at a time, not {size}")
        if self._error is not None:
            raise self._error
        if CHUNK - self._fill < size + 16:
            self._rotate()
        return self._array[self._fill :]

    def advance(self, n: int) -> None:
        """``n`` bytes of the last :meth:`reserve` are now part of the file."""
        self._fill += n
        self.length += n

    def write(self, data: bytes | memoryview) -> None:
        src = np.frombuffer(data, np.uint8)
        at = 0
        while at < src.shape[0]:
            n = min(src.shape[0] - at, MAX_RESERVE)
            self.reserve(n)[:n] = src[at : at + n]  # a numpy copy releases the GIL
            self.advance(n)
            at += n

    def finish(self) -> int:
        """Write what is buffered, wait for the device, set the exact length."""
        if self._fill:
            padded = -(-self._fill // ALIGN) * ALIGN
            assert self._buf is not None
            self._array[self._fill : padded] = 0
            self._submit(padded)
        self._stop()
        if self._error is not None:
            raise self._error
        os.ftruncate(self.fd, self.length)  # drop the tail's padding
        return self.length

    def close(self) -> None:
        self._stop()
        self._buf = None
        self._array = np.empty(0, np.uint8)

    # ------------------------------------------------------------------------ internals

    def _rotate(self) -> None:
        """Hand the aligned part of the current buffer to the I/O thread; the unaligned rest
        (< ALIGN bytes) moves to the start of the next buffer."""
        aligned = self._fill - self._fill % ALIGN
        tail = self._array[aligned : self._fill].copy()
        self._submit(aligned)
        self._array[: tail.shape[0]] = tail
        self._fill = tail.shape[0]

    def _submit(self, size: int) -> None:
        assert self._buf is not None
        if size == 0:
            self._fill = 0
            return
        self._full.put((self._buf, size))
        self._take()

    def _take(self) -> None:
        self._buf = self._free.get()  # blocks while the others are in flight: back-pressure
        self._array = np.frombuffer(self._buf, np.uint8)
        self._fill = 0

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._full.put(None)
            self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._full.get()
            if item is None:
                return
            buf, size = item
            try:
                if self._error is None:
                    start = self._offset
                    self._write_all(memoryview(buf)[:size])
                    if self.digest is not None:  # the last buffer's alignment padding is not data
                        self.digest.update(memoryview(buf)[: min(size, self.length - start)])
            except BaseException as exc:  # handed to the producer's thread
                self._error = exc
            finally:
                self._free.put(buf)

    def _write_all(self, view: memoryview) -> None:
        while view:
            try:
                n = os.pwrite(self.fd, view, self._offset)
            except OSError as exc:
                if not (self.direct and exc.errno == errno.EINVAL):
                    raise
                # the filesystem took O_DIRECT at open but refuses the I/O: go buffered
                flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
                fcntl.fcntl(self.fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
                self.direct = False
                continue
            self._offset += n
            view = view[n:]
