"""The compiled encoder against a plain-Python reference, on random batches."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from synthkit.batch import Batch, Column
from synthkit.encode import Encoder
from synthkit.files import AtomicFile

LABELS = ("plain", "with,comma", 'with "quote"', " padded ", "ünïcode", True, False, 7, 2.5, None)


def random_batch(rng: np.random.Generator, n: int, wide: bool | str) -> Batch:
    """``wide``: numbers spread far (digits), close (a table), or "outliers": close but for
    a few far off on either side (a table for most, digits for those)."""
    span = 10**9 if wide is True else 500
    masked = rng.random(n) < 0.6
    batch = Batch(
        [
            Column("i", "int", rng.integers(-span, span, n)),
            Column("d2", "decimal", rng.uniform(-span / 100, span / 100, n), decimals=2),
            Column("d6", "decimal", rng.uniform(-3, 3, n), decimals=6, present=masked),
            Column("s1", "decimal", rng.integers(-span, span, n), decimals=1, scaled=True),
            Column("lab", "label", rng.integers(0, len(LABELS), n), labels=LABELS),
            Column("fx", "fixed", rng.integers(97, 123, (n, 5)).astype(np.uint8), present=~masked),
        ]
    )
    if wide == "outliers":
        far = rng.random(n) < 0.03
        for c in batch.columns[:4]:
            c.values[far] = c.values[far] * 10**6 * rng.choice([-1, 1], far.sum())
    return batch


PREFIXES = {"i": b'{"i":', "d2": b"\t", "d6": b"<d6 ", "lab": b"|", "fx": b"!"}  # no prefix for s1


def reference(batch: Batch, fmt: str) -> bytes:
    """What the encoder must produce, computed the slow, obvious way."""
    out = io.StringIO()
    cols = batch.columns
    for r in range(batch.n):
        cells = []
        for c in cols:
            if c.present is not None and not c.present[r]:
                cells.append(None)
                continue
            if c.kind == "int":
                text, js = str(int(c.values[r])), str(int(c.values[r]))
            elif c.kind == "decimal":
                v = int(c.values[r]) if c.scaled else int(np.rint(c.values[r] * 10**c.decimals))
                sign, whole, frac = "-" if v < 0 else "", *divmod(abs(v), 10**c.decimals)
                text = js = f"{sign}{whole}.{frac:0{c.decimals}d}"
            elif c.kind == "label":
                value = c.labels[c.values[r]]
                js = json.dumps(value)
                verbatim = "" if value is None else str(value)
                if value is None:
                    text = ""
                elif isinstance(value, bool):
                    text = "true" if value else "false"
                else:
                    buf = io.StringIO()
                    csv.writer(buf, lineterminator="", quoting=csv.QUOTE_MINIMAL).writerow([value])
                    text = buf.getvalue()
                    if str(value) != str(value).strip():
                        text = '"' + str(value) + '"'
            else:
                text = bytes(c.values[r]).decode()
                js = json.dumps(text)
            cells.append(
                (
                    text,
                    js,
                    verbatim
                    if c.kind == "label"
                    else bytes(c.values[r]).decode()
                    if c.kind == "fixed"
                    else text,
                )
            )
        if fmt == "template":
            out.write(
                "".join(
                    PREFIXES.get(c.name, b"").decode() + x[2]
                    for c, x in zip(cols, cells)
                    if x is not None
                )
                + "\n"
            )
        elif fmt == "csv":
            out.write(",".join("" if x is None else x[0] for x in cells) + "\n")
        else:
            parts = [f"{json.dumps(c.name)}:{x[1]}" for c, x in zip(cols, cells) if x is not None]
            out.write("{" + ",".join(parts) + "}\n")
    return out.getvalue().encode()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "template"])
@pytest.mark.parametrize("wide", [False, True, "outliers"])
def test_encoder_matches_reference(fmt, wide):
    rng = np.random.default_rng({False: 2, True: 1, "outliers": 3}[wide])
    for n in (1, 17, 3_000, 45_000):  # 45k rows: split across threads
        batch = random_batch(rng, n, wide)
        got = Encoder(fmt, prefixes=PREFIXES if fmt == "template" else None).encode_bytes(batch)
        assert got == reference(batch, fmt)


def test_jsonl_lines_parse_and_omit_absent_fields():
    batch = random_batch(np.random.default_rng(3), 500, wide=True)
    for line, row in zip(Encoder("jsonl").encode_bytes(batch).splitlines(), batch.rows()):
        assert json.loads(line) == pytest.approx(row)


def test_csv_round_trips_through_the_csv_module():
    batch = random_batch(np.random.default_rng(4), 300, wide=False)
    enc = Encoder("csv")
    text = (enc.header(batch.names) + enc.encode_bytes(batch)).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 300 and list(rows[0]) == list(batch.names)
    labels = [str(LABELS[c]) if LABELS[c] is not None else "" for c in batch.column("lab").values]
    labels = [x.lower() if x in ("True", "False") else x for x in labels]
    assert [r["lab"] for r in rows] == labels


def test_threads_do_not_change_output():
    batch = random_batch(np.random.default_rng(5), 100_000, wide=True)
    assert Encoder("jsonl", threads=1).encode_bytes(batch) == Encoder(
        "jsonl", threads=2
    ).encode_bytes(batch)


def test_template_writes_nested_json_with_literals_and_masks():
    """What the reference database's payload writer relies on: literal columns, and an
    absent value taking its prefix with it."""
    n = 3
    located = np.array([True, False, True])
    batch = Batch(
        [
            Column("a", "int", np.array([1, 2, 3])),
            Column("lat", "decimal", np.array([1.5, 0.0, -2.25]), decimals=2, present=located),
            Column("close_loc", "label", np.zeros(n, np.int64), labels=("",), present=located),
            Column("end", "label", np.zeros(n, np.int64), labels=("}",)),
        ]
    )
    prefixes = {"a": b'{"a":', "lat": b',"loc":{"lat":', "close_loc": b"}"}
    lines = Encoder("template", prefixes=prefixes).encode_bytes(batch).splitlines()
    assert [json.loads(x) for x in lines] == [
        {"a": 1, "loc": {"lat": 1.5}},
        {"a": 2},
        {"a": 3, "loc": {"lat": -2.25}},
    ]
    with pytest.raises(ValueError, match="prefixes"):
        Encoder("csv", prefixes=prefixes)


def test_nan_is_refused():
    batch = Batch([Column("x", "decimal", np.array([1.0, np.nan]), decimals=2)])
    with pytest.raises(ValueError, match="NaN"):
        Encoder("jsonl").encode_bytes(batch)


def test_atomic_file_commit_and_abort(tmp_path):
    target = tmp_path / "out.txt"
    f = AtomicFile(target)
    f.write(b"half")
    assert not target.exists()
    f.abort()
    assert list(tmp_path.iterdir()) == []
    f = AtomicFile(target, durable=True)
    f.write(memoryview(b"whole"))
    f.commit()
    assert target.read_bytes() == b"whole" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("mode", ["jsonl", "csv"])
def test_memory_stays_flat_over_many_small_batches_of_a_growing_number(mode):
    """Found in issue 14: a live run's batches are one tick of the fleet, and its timestamps
    (an int column) move into a new range every tick. Each new range rendered and cached a
    number table of 4,096 entries, forever: `synthkit run` grew by ~220 KB per tick (5 MB/s at
    200 messages/s), with or without a broker. The encoder now keeps a bounded set of them."""
    import tracemalloc

    encoder = Encoder(mode, threads=1)

    def tick(k: int) -> bytes:
        stamps = np.arange(10, dtype=np.int64) + 1_700_000_000_000 + k * 60_000
        return encoder.encode_bytes(
            Batch([Column("ms", "int", stamps), Column("v", "int", np.full(10, k))])
        )

    tracemalloc.start()  # before the warm-up: what later batches free was traced when made
    for k in range(600):  # warm: tables and pools reach their bound
        tick(k)
    base = tracemalloc.get_traced_memory()[0]
    for k in range(600, 1600):
        out = tick(k)
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 2_000_000, f"{grown} bytes kept after 1,000 batches"
    assert str(1_700_000_000_000 + 1599 * 60_000).encode() in out  # still writes the right numbers


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "template"])
def test_rows_taken_lazily_encode_as_the_same_rows_copied(fmt):
    """A batch taken (and taken again, with a column put in place between) is gathered by
    the encoder straight from its base: the same bytes as the rows copied out first."""
    rng = np.random.default_rng(4)
    batch = random_batch(rng, 5_000, "outliers")
    first = rng.permutation(batch.n)[:4_000]
    again = np.repeat(np.arange(4_000), rng.integers(0, 3, 4_000))  # drops and repeats
    lazy = batch.take(first)
    swapped = lazy.column("d2")
    swapped = Column("d2", "decimal", swapped.values * 2, decimals=2)
    lazy = lazy.replaced(swapped).take(again)
    copied = Batch([c.take(first) for c in batch.columns])
    copied = Batch([swapped if c.name == "d2" else c for c in copied.columns])
    copied = Batch([c.take(again) for c in copied.columns])
    prefixes = PREFIXES if fmt == "template" else None
    assert Encoder(fmt, prefixes=prefixes).encode_bytes(lazy) == reference(copied, fmt)
    assert Encoder(fmt, prefixes=prefixes).encode_bytes(copied) == reference(copied, fmt)
