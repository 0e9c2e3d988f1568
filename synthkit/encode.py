"""Batch -> JSON lines, CSV or template rows, by one compiled kernel.

Why a kernel: building a dict and calling ``json.dumps`` per row tops out near 50k rows/s on
a small machine, and general string kernels (Arrow, polars, msgspec) measured 5-10x short of
the goal here; formatting straight from typed columns into a byte buffer is what reaches
millions of rows per second. Numbers are written from integers (decimals as scaled
integers), so the text is exact and identical on every machine.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit

from synthkit._bytes import copy_bytes
from synthkit.batch import Batch, Column, render_label_csv, render_label_json
from synthkit.encode_layout import TABLE_SPAN as _TABLE_SPAN
from synthkit.encode_layout import flat_rows, stacked, table_base
from synthkit.errors import ConfigError

Format = Literal["jsonl", "csv", "template"]
_MODE = {"jsonl": 0, "csv": 1, "template": 2}
# numbers become _K_INT (digits) or _K_TABLE (a rendered table, digits for values outside it)
_K_INT, _K_TABLE, _K_LABEL, _K_FIXED = 0, 1, 2, 3
_KIND_CODE = {"int": _K_INT, "decimal": _K_INT, "label": _K_LABEL, "fixed": _K_FIXED}
_MAX_TABLES = 32  # rendered tables kept (oldest dropped): memory stays flat as numbers grow
# a new table (4,096 numbers rendered, the label pool rebuilt) pays for itself over this many
# rows, or when the range comes back (a steady column of small batches: a listener's 500);
# a small batch meeting a range for the first time writes digits instead: a live tick of one
# device whose timestamp enters a new range every tick spent ~6 ms rendering tables for one row
_TABLE_ROWS = 1024
_POW10 = np.array([10**i for i in range(19)], dtype=np.int64)


_DIGIT_PAIRS = np.frombuffer(b"".join(b"%02d" % i for i in range(100)), np.uint8).copy()


@njit(inline="always", nogil=True, cache=True)
def _put_uint(out: np.ndarray, pos: int, value: int, pow10: np.ndarray) -> int:
    # unsigned throughout: signed floor division costs sign fix-ups on every digit pair
    v = np.uint64(value)
    digits = 1
    while digits < 19 and v >= np.uint64(pow10[digits]):
        digits += 1
    end = pos + digits
    i = end
    while v >= np.uint64(10):  # two digits per division by a constant (a multiply)
        q = v // np.uint64(100)
        pair = (v - q * np.uint64(100)) * np.uint64(2)
        out[i - 1] = _DIGIT_PAIRS[pair + np.uint64(1)]
        out[i - 2] = _DIGIT_PAIRS[pair]
        i -= 2
        v = q
    if i > pos:
        out[i - 1] = np.uint8(48) + np.uint8(v)
    return end


@njit(inline="always", nogil=True, cache=True)
def _put_frac(out: np.ndarray, pos: int, frac: np.uint64, decimals: int) -> int:
    """``frac`` as exactly ``decimals`` digits, zero-padded."""
    end = pos + decimals
    i = end
    left = decimals
    while left >= 2:
        q = frac // np.uint64(100)
        pair = (frac - q * np.uint64(100)) * np.uint64(2)
        out[i - 1] = _DIGIT_PAIRS[pair + np.uint64(1)]
        out[i - 2] = _DIGIT_PAIRS[pair]
        i -= 2
        left -= 2
        frac = q
    if left == 1:
        out[i - 1] = np.uint8(48) + np.uint8(frac % np.uint64(10))
    return end


@njit(inline="always", nogil=True, cache=True)
def _put_dec(out: np.ndarray, pos: int, value: int, decimals: int, pow10: np.ndarray) -> int:
    if value < 0:
        out[pos] = 45  # '-'
        pos += 1
        value = -value
    if decimals == 0:
        return _put_uint(out, pos, value, pow10)
    v = np.uint64(value)
    # constant divisors compile to multiplications; a divide by a table value costs ~20 ns
    if decimals == 1:
        scale = np.uint64(10)
    elif decimals == 2:
        scale = np.uint64(100)
    elif decimals == 3:
        scale = np.uint64(1000)
    elif decimals == 6:
        scale = np.uint64(1_000_000)
    else:
        scale = np.uint64(pow10[decimals])
    whole = v // scale
    pos = _put_uint(out, pos, whole, pow10)
    out[pos] = 46  # '.'
    return _put_frac(out, pos + 1, v - whole * scale, decimals)


@njit(nogil=True, cache=True)
def _encode_rows(
    mode: int,  # 0 JSON lines, 1 CSV, 2 template (each present value after its column's prefix)
    r0: int,
    r1: int,
    kinds: np.ndarray,  # per column: 0 number (scaled int), 2 label, 3 fixed
    slots: np.ndarray,  # per column: row of ints/floats/codes, or byte offset of a fixed column
    decimals: np.ndarray,
    mask_slots: np.ndarray,  # per column: row of masks, or -1 when always present
    widths: np.ndarray,  # per column: fixed width, or where its labels start in the pool
    shifts: np.ndarray,  # per table column: the number its table starts at
    table_len: int,  # numbers in a table
    ints: np.ndarray,  # int64 (columns, rows); decimals already scaled to integers
    codes: np.ndarray,  # int64 (columns, rows)
    fixed: np.ndarray,  # uint8, fixed columns flattened one after another
    masks: np.ndarray,  # bool (columns, rows)
    keys: np.ndarray,
    key_off: np.ndarray,
    labels: np.ndarray,
    label_off: np.ndarray,
    pow10: np.ndarray,
    out: np.ndarray,
) -> int:
    pos = 0
    ncol = kinds.shape[0]
    json = mode == 0
    for r in range(r0, r1):
        if json:
            out[pos] = 123  # '{'
            pos += 1
        first = True
        for c in range(ncol):
            ms = mask_slots[c]
            present = ms < 0 or masks[ms, r]
            if mode == 1:
                if c > 0:
                    out[pos] = 44  # ','
                    pos += 1
                if not present:
                    continue
            elif mode == 2:
                if not present:
                    continue
                pos = copy_bytes(out, pos, keys, key_off[c], key_off[c + 1] - key_off[c])
            else:
                if not present:
                    continue
                if not first:
                    out[pos] = 44
                    pos += 1
                first = False
                pos = copy_bytes(out, pos, keys, key_off[c], key_off[c + 1] - key_off[c])
            k = kinds[c]
            if k == 0:
                pos = _put_dec(out, pos, ints[slots[c], r], decimals[c], pow10)
            elif k == 1:
                value = codes[slots[c], r]
                at = value - shifts[c]  # its place in the column's table, if it is there
                if at >= 0 and at < table_len:
                    code = at + widths[c]
                    pos = copy_bytes(
                        out, pos, labels, label_off[code], label_off[code + 1] - label_off[code]
                    )
                else:
                    pos = _put_dec(out, pos, value, decimals[c], pow10)
            elif k == 2:
                code = codes[slots[c], r] + widths[c]
                pos = copy_bytes(
                    out, pos, labels, label_off[code], label_off[code + 1] - label_off[code]
                )
            else:
                w = widths[c]
                if json:
                    out[pos] = 34  # '"'
                    pos += 1
                pos = copy_bytes(out, pos, fixed, slots[c] + r * w, w)
                if json:
                    out[pos] = 34
                    pos += 1
        if json:
            out[pos] = 125  # '}'
            pos += 1
        out[pos] = 10  # '\n'
        pos += 1
    return pos


@njit(nogil=True, cache=True)
def _render_range(base: int, count: int, decimals: int, pow10: np.ndarray) -> tuple:
    """The text of ``base .. base+count-1`` (scaled by ``decimals``), written by the same
    ``_put_dec`` as the kernel, so a table and the digit path can never disagree."""
    out = np.empty(count * 22, np.uint8)
    offsets = np.empty(count + 1, np.int64)
    offsets[0] = 0
    pos = 0
    for i in range(count):
        pos = _put_dec(out, pos, base + i, decimals, pow10)
        offsets[i + 1] = pos
    return out[:pos], offsets


@dataclass(frozen=True)
class EncodePlan:
    """A batch laid out for the kernel; ``row_bound`` bytes per row always suffice."""

    args: tuple
    row_bound: int
    rows: int


class Encoder:
    """Encodes batches to JSON lines or CSV rows (no header; see :meth:`header`), or to
    ``template`` rows: each present value written after its column's entry in ``prefixes``,
    labels and fixed columns verbatim, absent values skipped with their prefix, then a
    newline. Templates write nested JSON or a database's COPY text without per-row Python;
    a column with one label and all-zero codes is a literal (closing braces, say).

    :meth:`encode` returns views that stay valid until its next call; large batches are split
    across ``threads`` (the kernel runs without the GIL). :meth:`plan` + :meth:`encode_into`
    write straight into a caller's buffer instead (what file sinks do: no copy).
    """

    def __init__(
        self, fmt: Format, *, threads: int = 2, prefixes: dict[str, bytes] | None = None
    ) -> None:
        if fmt not in _MODE:
            raise ValueError(f"unknown format {fmt!r}")
        if (prefixes is not None) != (fmt == "template"):
            raise ValueError("prefixes go with the template format, and only there")
        self.fmt = fmt
        self.csv = fmt == "csv"
        self.mode = _MODE[fmt]
        self.prefixes = prefixes or {}
        self.threads = max(1, threads)
        self._labels: dict[str, tuple[object, list[bytes]]] = {}
        self._tables: dict[
            tuple[int, int], list[bytes]
        ] = {}  # (decimals, base) -> rendered numbers
        self._sighted: dict[
            tuple[int, int], None
        ] = {}  # ranges a small batch met once (bounded, oldest first)
        self._pools: dict[tuple[int, ...], tuple] = {}
        self._buffers: list[np.ndarray] = []
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def header(self, names: tuple[str, ...]) -> bytes:
        return (",".join(render_label_csv(n).decode() for n in names) + "\n").encode()

    def plan(self, batch: Batch) -> EncodePlan:
        """Lay ``batch`` out for :meth:`encode_into` (one pass over its columns)."""
        return self._pack(batch)

    def encode_into(self, plan: EncodePlan, r0: int, r1: int, out: np.ndarray) -> int:
        """Write rows ``r0..r1`` of a planned batch at the start of ``out`` (uint8, at least
        ``bound(r1 - r0)`` of :meth:`bound` long); returns the bytes written. Bytes past
        that count may be scribbled on (the kernel copies 8 bytes at a time)."""
        if out.shape[0] < self.bound(plan, r1 - r0):
            raise ValueError("output buffer too small for these rows")
        return int(_encode_rows(self.mode, r0, r1, *plan.args, _POW10, out))

    @staticmethod
    def bound(plan: EncodePlan, rows: int) -> int:
        return rows * plan.row_bound + 16

    def encode(self, batch: Batch) -> list[memoryview]:
        n = batch.n
        if n == 0:
            return []
        plan = self._pack(batch)
        parts = self.threads if n >= 20_000 else 1
        bounds = np.linspace(0, n, parts + 1).astype(np.int64)
        while len(self._buffers) < parts:
            self._buffers.append(np.empty(0, np.uint8))
        for i in range(parts):
            need = self.bound(plan, int(bounds[i + 1] - bounds[i]))
            if self._buffers[i].shape[0] < need:
                self._buffers[i] = np.empty(int(need * 1.25), np.uint8)

        def run(i: int) -> memoryview:
            buf = self._buffers[i]
            end = self.encode_into(plan, int(bounds[i]), int(bounds[i + 1]), buf)
            return buf.data[:end]

        if parts == 1:
            return [run(0)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="encode")
        return list(self._pool.map(run, range(parts)))

    def encode_bytes(self, batch: Batch) -> bytes:
        return b"".join(bytes(v) for v in self.encode(batch))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._buffers.clear()

    # ------------------------------------------------------------------------ internals

    @staticmethod
    def _scaled(c: Column, decimals: int) -> np.ndarray:
        if c.kind == "int" or c.scaled:
            return np.asarray(c.values, np.int64)
        if not np.all(np.isfinite(c.values)):
            raise ValueError(f"column {c.name!r} holds NaN or infinity")
        scaled = np.rint(c.values * float(10**decimals))
        if scaled.size and np.abs(scaled).max() >= 9e18:
            raise ValueError(f"column {c.name!r} is too large for {decimals} decimals")
        return scaled.astype(np.int64)

    def _number_table(self, decimals: int, base: int) -> list[bytes]:
        key = (decimals, base)
        table = self._tables.pop(key, None)
        if table is not None:
            self._tables[key] = table  # least recently used goes first: steady columns stay
        else:
            text, offsets = _render_range(base, 2 * _TABLE_SPAN, decimals, _POW10)
            data, ends = text.tobytes(), offsets.tolist()
            table = self._tables[key] = [data[a:b] for a, b in zip(ends, ends[1:])]
            # bounded: a growing number (a live run's timestamps) reaches a new range every
            # few batches, and each table is 4,096 rendered numbers
            if len(self._tables) > _MAX_TABLES:
                self._tables.pop(next(iter(self._tables)))
        return table

    def _table_pays(self, decimals: int, base: int, rows: int) -> bool:
        """Whether to write a column from a rendered table: a large batch, a table already
        rendered, or a range a small batch has met before (it is steady: render it once)."""
        key = (decimals, base)
        if rows >= _TABLE_ROWS or key in self._tables:
            return True
        if key in self._sighted:
            return True
        self._sighted[key] = None
        if len(self._sighted) > 4 * _MAX_TABLES:
            self._sighted.pop(next(iter(self._sighted)))
        return False

    def _label_pool(self, lists: list[list[bytes]]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """All label texts in one byte pool with offsets; cached, since the rendered lists are
        themselves cached and usually the same from batch to batch."""
        key = tuple(id(x) for x in lists)
        cached = self._pools.get(key)
        if cached is None:
            chunks = [item for x in lists for item in x]
            starts = np.cumsum([0] + [len(x) for x in lists])[:-1].tolist()
            offsets = np.cumsum([0] + [len(c) for c in chunks]).astype(np.int64)
            pool = np.frombuffer(b"".join(chunks) + bytes(8), np.uint8)
            cached = self._pools[key] = (pool, offsets, starts, lists)  # lists: keep ids alive
            if len(self._pools) > 64:
                self._pools.pop(next(iter(self._pools)))
        return cached[0], cached[1], cached[2]

    def _key(self, name: str) -> bytes:
        """What goes before a column's value: ``"name":`` in JSON, nothing in CSV, the prefix."""
        if self.mode == 0:
            return render_label_json(name) + b":"
        return self.prefixes.get(name, b"") if self.mode == 2 else b""

    def _rendered(self, name: str, labels: object) -> list[bytes]:
        cached = self._labels.get(name)
        # Generators often rebuild an equal labels tuple per batch; returning the same rendered
        # list keeps the label-pool cache (keyed by list identity) hitting across batches.
        if cached is not None and (cached[0] is labels or cached[0] == labels):
            return cached[1]
        render = {0: render_label_json, 1: render_label_csv, 2: _render_verbatim}[self.mode]
        rendered = [render(v) for v in labels]  # type: ignore[attr-defined]
        self._labels[name] = (labels, rendered)
        return rendered

    def _pack(self, batch: Batch) -> EncodePlan:
        """Column-major arrays for the kernel: one contiguous copy per column, no per-row work."""
        n = batch.n
        sources = batch.sources()  # rows still to take are gathered once, into the stacks
        cols = [c for c, _ in sources]
        ncol = len(cols)
        raw = [c.name for c in cols if c.kind == "bytes"]
        if raw:
            raise ConfigError(
                f"column(s) {', '.join(raw)} hold raw message bytes: no file or stream format writes them",
                hint="deliver them to an ingest sink",
            )
        kinds = np.array([_KIND_CODE[c.kind] for c in cols], np.int64)
        slots = np.zeros(ncol, np.int64)
        decimals = np.array([c.decimals if c.kind == "decimal" else 0 for c in cols], np.int64)
        mask_slots = np.full(ncol, -1, np.int64)
        widths = np.zeros(ncol, np.int64)
        Part = tuple[np.ndarray, np.ndarray | None]  # values, and which of them (None: all)
        ints: list[Part] = []
        codes: list[Part] = []
        fixed: list[Part] = []
        masks: list[Part] = []
        label_cols: list[tuple[int, list[bytes]]] = []
        shifts = np.zeros(ncol, np.int64)
        keys = []
        row_bound = 3
        fixed_at = 0
        for i, (c, at) in enumerate(sources):
            key = self._key(c.name)
            keys.append(key)
            row_bound += len(key) + 1
            if c.present is not None:
                mask_slots[i] = len(masks)
                masks.append((c.present, at))
            if c.kind in ("int", "decimal"):
                d = c.decimals if c.kind == "decimal" else 0
                scaled = self._scaled(c, d)
                decimals[i] = d
                base = table_base(scaled)
                if base is not None and self._table_pays(d, base, n):
                    # small range: write pre-rendered numbers, a copy instead of digit maths
                    kinds[i] = _K_TABLE
                    slots[i] = len(codes)
                    shifts[i] = base
                    label_cols.append((i, self._number_table(d, base)))
                    codes.append((scaled, at))
                    row_bound += 24
                else:
                    kinds[i] = _K_INT
                    slots[i] = len(ints)
                    ints.append((scaled, at))
                    row_bound += 22
            elif c.kind == "label":
                slots[i] = len(codes)
                rendered = self._rendered(c.name, c.labels)
                label_cols.append((i, rendered))
                codes.append((c.values, at))
                row_bound += max((len(r) for r in rendered), default=0)
            else:
                slots[i] = fixed_at
                widths[i] = c.values.shape[1]
                fixed.append((c.values, at))
                fixed_at += n * int(c.values.shape[1])
                row_bound += int(c.values.shape[1]) + 2
        key_off = np.cumsum([0] + [len(k) for k in keys]).astype(np.int64)
        labels, label_off, starts = self._label_pool([r for _, r in label_cols])
        for (i, _), start in zip(label_cols, starts):
            widths[i] = start
        args = (
            kinds,
            slots,
            decimals,
            mask_slots,
            widths,
            shifts,
            2 * _TABLE_SPAN,
            stacked(ints, n, np.int64),
            stacked(codes, n, np.int64),
            flat_rows(fixed, n, fixed_at),
            stacked(masks, n, np.bool_),
            np.frombuffer(b"".join(keys) + bytes(8), np.uint8),
            key_off,
            labels,
            label_off,
        )
        return EncodePlan(args, row_bound, n)


def _render_verbatim(value: object) -> bytes:
    return b"" if value is None else str(value).encode()
