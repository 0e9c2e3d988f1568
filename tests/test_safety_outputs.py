"""Issue 23, items 8 and 9: an output path that is a symbolic link is written through (its
target replaced whole, the link kept); a device, FIFO or pipe is written to as it is, never
replaced by a regular file; a partitioned Parquet dataset a kill -9 left half-written is
swept by the next write beside it."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from synthkit.files import TEMP_SUFFIX
from synthkit.testing import run_cli
from tests.conftest import BIN


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_a_link_to_a_file_is_written_through_and_stays_a_link(tmp_path):
    target = tmp_path / "real" / "events.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "events.jsonl"
    link.symlink_to(target)
    res = subprocess.run(
        [str(BIN / "synthkit-mock"), "--events", "3", "--out", str(link)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert len(_lines(target)) == 3
    assert not [p for p in target.parent.iterdir() if p.name.endswith(TEMP_SUFFIX)]


@pytest.mark.slow
def test_a_link_to_standard_output_streams_to_it(tmp_path):
    link = tmp_path / "so.jsonl"
    link.symlink_to("/proc/self/fd/1")  # what /dev/stdout is
    res = subprocess.run(
        [str(BIN / "synthkit-mock"), "--events", "2", "--out", str(link)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"
    events = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [e["driver_id"] for e in events] == ["D0000", "D0001"]  # the events, on the pipe


def test_a_fifo_is_written_to_not_replaced(tmp_path):
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    res = run_cli(["telematics", "generate", "--events", "5", "--out", str(fifo)])
    reader.join(timeout=60)
    assert res.exit_code == 0, res.stderr
    assert fifo.is_fifo() and len(got) == 1 and len(got[0].splitlines()) == 5


@pytest.mark.slow
def test_a_dataset_left_by_a_killed_writer_is_swept(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".ds.parquet.{dead.pid}{TEMP_SUFFIX}"
    (stale / "day=2026-01-01").mkdir(parents=True)
    (stale / "day=2026-01-01" / "part-0.parquet").write_bytes(b"x" * 1000)
    res = run_cli(
        [
            "telematics",
            "generate",
            "--events",
            "50",
            "--out",
            str(tmp_path / "other.parquet"),
            "--sink-option",
            "partition_by=day",
        ]
    )
    assert res.exit_code == 0, res.stderr
    assert not stale.exists() and (tmp_path / "other.parquet").is_dir()
