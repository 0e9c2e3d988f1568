"""AtomicFile as a binary file object (issue 13): what a file sink is handed must work with
libraries that write to a file object, as pyarrow's Parquet writer does, and stay whole or
nothing. Before, it had no `closed`, `tell`, `flush` or `writable`."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthkit.files import AtomicFile


@pytest.mark.parametrize("direct", [False, True])
def test_pyarrow_writes_parquet_into_it_and_nothing_shows_before_commit(tmp_path, direct):
    path = tmp_path / "t.parquet"
    table = pa.table({"seq": np.arange(100_000), "level": np.linspace(0, 100, 100_000)})
    out = AtomicFile(path, direct=direct)
    assert out.writable() and not out.readable() and not out.seekable() and not out.closed
    with pq.ParquetWriter(out, table.schema) as writer:
        writer.write_table(table)
    assert out.tell() == out.bytes > 0
    assert not path.exists()  # not before commit
    out.commit()
    assert out.closed
    assert pq.read_table(path).equals(table)


def test_it_is_an_io_base_with_the_file_protocol(tmp_path):
    out = AtomicFile(tmp_path / "x.bin")
    assert isinstance(out, io.IOBase)
    assert out.write(b"abc") == 3 and out.write(memoryview(b"de")) == 2
    out.flush()
    assert out.tell() == 5
    out.abort()
    assert out.closed and list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="closed"):
        out.write(b"more")
