"""Direct-I/O artifact writing: exact bytes at every alignment edge, the buffered fallback,
and a write error that surfaces as one line and leaves nothing behind."""

from __future__ import annotations

import errno
import fcntl
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

from synthkit import directio
from synthkit.files import AtomicFile

C = directio.CHUNK
SIZES = [0, 1, 4095, 4096, 4097, C - 1, C, C + 1, 3 * C + 12_345]


def payload(size: int) -> bytes:
    return np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()


def write_in_pieces(f: AtomicFile, data: bytes) -> None:
    """Irregular piece sizes, so copies straddle staging-buffer boundaries."""
    at, step = 0, 1
    while at < len(data):
        f.write(memoryview(data)[at : at + step])
        at += step
        step = step * 7 % 1_000_003 + 1


@pytest.mark.parametrize("size", SIZES)
def test_direct_file_holds_exactly_what_was_written(tmp_path, size):
    data = payload(size)
    target = tmp_path / "out.bin"
    f = AtomicFile(target, direct=True)
    write_in_pieces(f, data)
    assert not target.exists()  # nothing visible before commit
    f.commit()
    assert f.bytes == size
    assert target.stat().st_size == size  # the tail's alignment padding is truncated away
    assert target.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_direct_io_is_used_where_the_filesystem_offers_it(tmp_path):
    fd, accepted = directio.open_direct(tmp_path / "probe")
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        assert bool(flags & os.O_DIRECT) == accepted
    finally:
        os.close(fd)


def test_falls_back_to_buffered_writes_when_direct_io_is_refused(tmp_path, monkeypatch):
    """Some filesystems accept O_DIRECT at open and refuse the I/O (EINVAL)."""
    real_pwrite = os.pwrite
    refused = []

    def pwrite(fd, data, offset):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refused.append(offset)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    data = payload(2 * C + 999)
    target = tmp_path / "out.bin"
    f = AtomicFile(target, direct=True)
    write_in_pieces(f, data)
    f.commit()
    assert target.read_bytes() == data
    assert len(refused) <= 1  # refused once at most, then written the ordinary way


def test_abort_removes_everything(tmp_path):
    target = tmp_path / "out.bin"
    f = AtomicFile(target, direct=True)
    f.write(payload(C + 5))
    f.abort()
    assert list(tmp_path.iterdir()) == []


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


@pytest.mark.slow
def test_a_write_error_is_one_line_and_leaves_no_file(tmp_path):
    """The device refusing bytes mid-run (here: a 1 MiB file-size limit, as a full disk
    would) ends in one clear line, exit 2, and no partial output."""
    out = tmp_path / "events.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthkit.cli",
            "telematics",
            "generate",
            "--events",
            "200000",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: cannot write {out}: File too large"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("direct", [True, False])
def test_encoding_in_place_equals_encoding_to_bytes(tmp_path, direct):
    """What file sinks do (the encoder writing into the file's own buffers, slice by slice,
    across several buffer rotations) gives exactly the bytes of a plain encode."""
    from synthkit.encode import Encoder
    from tests.test_encode import random_batch

    batch = random_batch(np.random.default_rng(11), 250_000, wide=True)
    expected = Encoder("jsonl", threads=1).encode_bytes(batch)
    assert len(expected) > 2 * C  # crosses buffer boundaries
    encoder = Encoder("jsonl", threads=1)
    plan = encoder.plan(batch)
    target = tmp_path / "out.jsonl"
    f = AtomicFile(target, direct=direct)
    step = 7_919  # rows per slice: a prime, so slices end at every possible alignment
    for r0 in range(0, batch.n, step):
        r1 = min(batch.n, r0 + step)
        f.advance(encoder.encode_into(plan, r0, r1, f.reserve(encoder.bound(plan, r1 - r0))))
    f.commit()
    assert target.read_bytes() == expected


def test_encode_into_refuses_a_short_buffer():
    from synthkit.encode import Encoder
    from tests.test_encode import random_batch

    batch = random_batch(np.random.default_rng(3), 100, wide=False)
    encoder = Encoder("csv", threads=1)
    plan = encoder.plan(batch)
    with pytest.raises(ValueError, match="too small"):
        encoder.encode_into(plan, 0, 100, np.empty(10, np.uint8))
