"""Replay: re-emit exactly the missing (stream, seq) ranges of run records, byte for byte as
first emitted, through a broker sink (live, to be heard again by a listener) or an ingest
sink (straight into the store). A family makes its runs replayable with a
:class:`Replayer` (``Family.replay``): payloads are pure functions of (scenario, stream, seq),
so the family regenerates the run from the record's recipe and keeps only the missing rows.

Replay reserves no seqs: it sends seqs a run already reserved and recorded.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from synthkit.batch import Batch
from synthkit.errors import ConfigError
from synthkit.outcomes import delivery_problems
from synthkit.runs import RunLog, RunRecord

if TYPE_CHECKING:
    from synthkit.delivery import Delivery

Missing = Mapping[str, Sequence[Sequence[int]]]  # stream -> [[first, last], ...]


class Replayer(ABC):
    """A family's way to regenerate seqs of one run record (``Family.replay(record)``)."""

    client_column: str = "device_id"  # the column naming each row's stream
    topic: str = ""  # the topic template a broker sink publishes on, when the command gives none
    faults: Any = None  # the FaultPlan of the run's scenario: a replay applies it again

    @property
    @abstractmethod
    def columns(self) -> tuple[str, ...]:
        """The columns of the batches :meth:`batches` yields (as the run's sink got them)."""

    @abstractmethod
    def batches(self, missing: Missing) -> Iterator[Batch]:
        """Exactly the rows of ``missing`` (stream -> inclusive seq ranges), in the order the
        run emitted them, each byte-identical to its first emission."""

    def payloads(self) -> Callable[[Batch], list[bytes]] | None:
        """The message per row a broker sink publishes (None: each row's JSON line)."""
        return None


def missing_from_report(
    report: Mapping[str, Any], where: str
) -> dict[str, dict[str, list[list[int]]]]:
    """``missing_ranges`` of a ``synthkit reconcile`` report, checked."""
    ranges = report.get("missing_ranges")
    if report.get("command") != "reconcile" or not isinstance(ranges, dict):
        raise ConfigError(
            f"{where}: not a reconcile report (no missing_ranges)",
            hint="write one with `synthkit reconcile ... > report.json`",
        )
    try:
        return {
            str(run): {str(s): [[int(lo), int(hi)] for lo, hi in rs] for s, rs in streams.items()}
            for run, streams in ranges.items()
        }
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"{where}: missing_ranges is malformed ({exc})", hint="re-run synthkit reconcile"
        ) from None


def check_ranges(record: RunRecord, missing: Missing) -> tuple[dict[str, list[list[int]]], int]:
    """(``missing`` with each stream's ranges merged, the number of seqs in it); each range
    must lie inside what ``record`` emitted (overlapping ranges are one seq each once)."""
    from synthkit.reconcile import merge

    total, merged = 0, {}
    for stream, ranges in missing.items():
        have = record.streams.get(stream)
        for lo, hi in ranges:
            if have is None or lo > hi or lo < have.first_seq or hi > have.last_seq:
                span = (
                    f"{have.first_seq}..{have.last_seq}"
                    if have is not None and have.count
                    else "nothing"
                )
                raise ConfigError(
                    f"run {record.run_id} did not emit {stream} seqs {lo}..{hi} (it emitted {span})",
                    hint="replay only what a run emitted: take the ranges from `synthkit reconcile`",
                )
        merged[stream] = [[lo, hi] for lo, hi in merge([(int(lo), int(hi)) for lo, hi in ranges])]
        total += sum(hi - lo + 1 for lo, hi in merged[stream])
    return merged, total


def paced_rows(batches: Iterator[Batch], rate: float) -> Iterator[Batch]:
    """``batches`` at no more than ``rate`` rows per second (0: as fast as they come), in
    slices of a tenth of a second: a subscriber's queue at the broker is finite (Mosquitto's
    default is 1,000 messages), and a burst past it is dropped after being acknowledged."""
    if rate <= 0:
        yield from batches
        return
    step = max(1, int(rate // 10))
    started, sent = time.monotonic(), 0
    for batch in batches:
        for lo in range(0, batch.n, step):
            wait = started + sent / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            part = batch.slice(lo, min(lo + step, batch.n)) if batch.n > step else batch
            sent += part.n
            yield part


def replay_run(
    plugins: Any,
    record: RunRecord,
    missing: Missing,
    make_sink: Callable[[Replayer, RunRecord], Delivery[Any]],
    on_batch: Callable[[int], None] | None = None,
    rate: float = 0.0,
) -> dict[str, Any]:
    """Re-emit ``missing`` of ``record`` through the sink ``make_sink(replayer, record)`` opens,
    at most ``rate`` rows per second (0: no limit)."""
    from synthkit.contracts import BrokerSink
    from synthkit.engine import deliver

    family = plugins.families().get(record.family)
    if family is None:
        raise ConfigError(
            f"run {record.run_id} is of family {record.family!r}, which is not installed",
            hint="install (or enable) the plugin that provides it",
        )
    if family.replay is None and family.ticks is None:
        raise ConfigError(
            f"family {record.family!r} cannot replay its runs",
            hint="its plugin registers no replay",
        )
    missing, planned = check_ranges(record, missing)
    if family.replay is not None:
        replayer = family.replay(record, plugins)
    else:  # a ticks family: the core makes its runs again
        from synthkit.ticks import TickReplayer

        replayer = TickReplayer(family, record, plugins)
    sink = make_sink(replayer, record)
    started = time.perf_counter()
    produced = [0]

    def counted(batches: Iterable[Batch]) -> Iterator[Batch]:
        for batch in batches:
            produced[0] += batch.n
            yield batch

    report = deliver(
        counted(paced_rows(replayer.batches(missing), rate)), sink, replayer.columns, on_batch
    )
    elapsed = time.perf_counter() - started
    stopped = bool(report.details.get("stopped"))
    if produced[0] != planned and not stopped:  # the family's replayer, not the run's transforms
        raise RuntimeError(
            f"replay of {record.run_id} regenerated {produced[0]} rows, {planned} were missing"
        )
    out: dict[str, Any] = {
        "run_id": record.run_id,
        "replayed": report.records,
        "streams": len(missing),
        "outcomes": dict(report.outcomes),
        "elapsed_seconds": round(elapsed, 3),
    }
    if record.transforms:  # re-applied as the run applied them: a row it dropped is dropped again
        out["transforms"] = list(record.transforms)
        out["regenerated"] = produced[0]  # before them; "replayed": what the sink took after them
    if isinstance(sink.sink, BrokerSink):  # what the broker acknowledged
        out.update(sink.sink.summary())
    problems = delivery_problems(report.outcomes, report.details)
    if problems:
        out["warnings"] = [*out.get("warnings", []), *problems]
    return out


def runs_to_replay(log: RunLog, missing: Mapping[str, Missing]) -> list[tuple[RunRecord, Missing]]:
    return [(log.load(run_id), ranges) for run_id, ranges in missing.items() if ranges]
