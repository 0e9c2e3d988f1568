"""The sink conformance kit: one call checks a sink against its kind's contract.

    from synthkit.testing import check_sink
    check_sink(my_spec, lambda run: FileTarget(tmp_path / f"out{run}.xyz"))

What it checks, with the batches you give (or :func:`sample_batches`, every value type):
the factory returns its kind's base class; unknown options are refused; ``open``, ``write``,
``close`` deliver every record and the report counts them; ``abort`` (and a failure during a
delivery) leaves no output and no temp file behind for a file sink; the same batches give
the same bytes twice (file and stream sinks); an ingest sink's outcomes add up to its records
and use the ``stored:``/``duplicate:``/``rejected:``/``failed:``/``dry_run:`` keys; a broker
sink reports every client. Each failure is an AssertionError saying which rule broke.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from synthkit.batch import Batch, Column
from synthkit.contracts import (
    CONTRACTS,
    BrokerSink,
    BrokerTarget,
    FileTarget,
    Sink,
    StreamTarget,
    Target,
)
from synthkit.engine import deliver
from synthkit.errors import ConfigError
from synthkit.isotime import iso_seconds
from synthkit.records import SinkReport, SinkSpec
from synthkit.sink_build import make_sink

OUTCOME_KEYS = ("stored:", "duplicate:", "rejected:", "failed:", "dry_run:")


def sample_batches(rows: int = 5000, parts: int = 3, seed: int = 0) -> list[Batch]:
    """``parts`` batches of a column of every value type (nulls in some), reproducibly."""
    rng = np.random.default_rng(seed)
    out: list[Batch] = []
    for p in range(parts):
        n = rows // parts + (1 if p < rows % parts else 0)
        start = sum(b.n for b in out)
        present = rng.random(n) > 0.2
        out.append(
            Batch(
                [
                    Column(
                        "device_id",
                        "label",
                        rng.integers(0, 4, n),
                        labels=("D-1", "D-2", "D-3", "D-4"),
                    ),
                    Column("seq", "int", np.arange(start, start + n, dtype=np.int64)),
                    Column(
                        "ts",
                        "fixed",
                        iso_seconds(1_767_225_600 + 60 * np.arange(start, start + n)),
                        type="timestamp",
                    ),
                    Column("reading", "decimal", np.round(rng.random(n) * 100, 2), decimals=2),
                    Column(
                        "rate",
                        "decimal",
                        rng.integers(0, 900, n),
                        decimals=1,
                        scaled=True,
                        present=present,
                    ),
                    Column("price", "label", rng.integers(0, 2, n), labels=(18000, 42000)),
                    Column(
                        "flagged",
                        "label",
                        rng.integers(0, 2, n),
                        labels=(False, True),
                        present=~present,
                    ),
                    Column("note", "fixed", np.full((n, 4), ord("x"), np.uint8)),
                ]
            )
        )
    return out


def check_sink(
    spec: SinkSpec,
    make_target: Callable[[int], Target],
    *,
    batches: Callable[[], Iterable[Batch]] | None = None,
    output: Callable[[Target], bytes] | None = None,
    options: dict[str, object] | None = None,
) -> SinkReport:
    """Check ``spec`` against its kind's contract; ``make_target(run)`` gives a fresh target
    for each delivery (``run`` = 0, 1, 2...). ``output(target)`` reads what was delivered
    (default: the file's bytes, or the stream's). Returns the first delivery's report."""
    make = batches or (lambda: sample_batches())
    rows = sum(b.n for b in make())
    columns = next(iter(make())).names
    read = output or _default_output

    _check_options_refused(spec, make_target)

    def build(run: int) -> tuple[Sink, Target]:
        target = make_target(run)
        sink = make_sink(spec, target, options or {})
        assert isinstance(sink, CONTRACTS[spec.kind]), (
            f"{spec.name}: not a {CONTRACTS[spec.kind].__name__}"
        )
        return sink, target

    sink, first_target = build(0)
    report = deliver(make(), sink, columns)
    _check_report(spec, report, rows)
    if spec.kind == "broker":
        _check_broker(spec, sink, first_target)

    if spec.kind in ("file", "stream"):
        again, second_target = build(1)
        deliver(make(), again, columns)
        assert read(first_target) == read(second_target), (
            f"{spec.name}: the same batches gave different bytes"
        )

    if spec.kind == "file":
        _check_whole_or_nothing(spec, build, make, columns)
    return report


def _check_options_refused(spec: SinkSpec, make_target: Callable[[int], Target]) -> None:
    try:
        make_sink(spec, make_target(99), ["no_such_option_at_all=1"])
    except ConfigError as exc:
        assert "no_such_option_at_all" in str(exc), (
            f"{spec.name}: the options error must name the option"
        )
    else:
        raise AssertionError(
            f"{spec.name}: an unknown --sink-option must be refused (extra='forbid')"
        )


def _check_report(spec: SinkSpec, report: object, rows: int) -> None:
    assert isinstance(report, SinkReport), f"{spec.name}: close() must return a SinkReport"
    assert report.records == rows, (
        f"{spec.name}: reported {report.records} records, was handed {rows}"
    )
    if spec.kind == "ingest":
        assert sum(report.outcomes.values()) == rows, (
            f"{spec.name}: outcomes {dict(report.outcomes)} must add up to {rows}"
        )
        bad = [k for k in report.outcomes if not k.startswith(OUTCOME_KEYS)]
        assert not bad, f"{spec.name}: outcome keys {bad} must start with one of {OUTCOME_KEYS}"


def _check_broker(spec: SinkSpec, sink: Sink, target: Target) -> None:
    assert isinstance(sink, BrokerSink) and isinstance(target, BrokerTarget)
    clients = sink.per_client()
    assert set(clients) >= set(target.clients), (
        f"{spec.name}: per_client() must report every client"
    )
    summary = sink.summary()
    assert "broker_acknowledged_all" in summary and "warnings" in summary, (
        f"{spec.name}: summary() lacks its keys"
    )


def _check_whole_or_nothing(spec: SinkSpec, build, make, columns) -> None:
    """abort() after writes, and a failure in the middle of a delivery: no output, no temp."""
    sink, target = build(2)
    assert isinstance(target, FileTarget)
    before = set(os.listdir(target.path.parent))
    sink.open(columns)
    for batch in make():
        sink.write(batch)
    sink.abort()
    assert not target.path.exists(), f"{spec.name}: abort() left {target.path}"
    assert set(os.listdir(target.path.parent)) == before, f"{spec.name}: abort() left temp files"

    def failing() -> Iterable[Batch]:
        for i, batch in enumerate(make()):
            if i == 1:
                raise RuntimeError("generator failed mid-run")
            yield batch

    sink, target = build(3)
    try:
        deliver(failing(), sink, columns)
    except RuntimeError:
        pass
    else:
        raise AssertionError(f"{spec.name}: a failing delivery must raise")
    assert not target.path.exists(), f"{spec.name}: a failed delivery left {target.path}"
    assert set(os.listdir(target.path.parent)) == before, (
        f"{spec.name}: a failed delivery left temp files"
    )


def _default_output(target: Target) -> bytes:
    if isinstance(target, FileTarget):
        path = Path(target.path)
        if path.is_dir():
            return b"".join(
                p.relative_to(path).as_posix().encode() + p.read_bytes()
                for p in sorted(path.rglob("*"))
                if p.is_file()
            )
        return path.read_bytes()
    if isinstance(target, StreamTarget) and isinstance(target.stream, io.BytesIO):
        return target.stream.getvalue()
    raise AssertionError("give check_sink an output= reader for this target")
