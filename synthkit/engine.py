"""Moves batches from a generator into a sink. ``deliver``: as fast as they come, generation
and delivery overlapping on two threads (the kernels release the GIL), and any failure or
interrupt aborts the sink so no half-written output remains. ``paced``: each batch at its
due time, as a live fleet sends, until the schedule ends, a duration passes or a signal."""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from synthkit import interrupt
from synthkit.batch import Batch
from synthkit.errors import DeliveryStopped, OutputError
from synthkit.records import SinkReport


class Writable(Protocol):
    """What batches are delivered to: a sink, or a run's delivery (its sink behind the
    transforms, :class:`synthkit.delivery.Delivery`)."""

    def open(self, columns: tuple[str, ...]) -> None: ...
    def write(self, batch: Batch) -> None: ...
    def close(self) -> SinkReport: ...
    def abort(self) -> None: ...


_DONE = object()
T = TypeVar("T")


def deliver(
    batches: Iterable[Batch],
    sink: Writable,
    columns: tuple[str, ...],
    on_batch: Callable[[int], None] | None = None,
    before_write: Callable[[Batch], None] | None = None,
    after_write: Callable[[Batch], None] | None = None,
    threaded: bool = True,
) -> SinkReport:
    """Open ``sink``, write every batch, close it; abort it on any exception.
    ``threaded=False`` writes on the caller's thread: for a source whose batches come from
    another Python thread (a network client), where a third thread only adds GIL contention.
    ``before_write(batch)`` runs on the sink's thread just before the sink is handed the
    batch, ``after_write(batch)`` once it took it (where sequence numbers are reserved and
    then counted as spent: never for a batch the sink did not get)."""
    sink.open(columns)
    if not threaded:
        return _deliver_here(batches, sink, on_batch, before_write, after_write)
    failure: list[BaseException] = []
    prepare = getattr(sink, "prepare", None) if getattr(sink, "ahead", False) else None

    def write(item: Any) -> None:
        batch, ready = item
        if before_write is not None:
            before_write(batch)
        if ready is None:
            sink.write(batch)
        else:
            sink.hand(ready)  # type: ignore[attr-defined]
        if after_write is not None:
            after_write(batch)
        if on_batch is not None:
            on_batch(batch.n)

    # generating (this thread) -> [the transforms, when they may run ahead] -> the sink's
    # writing: bounded queues between them, so memory stays flat
    writer = _Worker("synthkit-sink", write, failure)
    workers = [writer]
    if prepare is not None:
        workers.insert(
            0, _Worker("synthkit-transforms", lambda b: (b[0], prepare(b[0])), failure, writer)
        )
    first = workers[0]
    signals = len(interrupt.received)
    try:
        for batch in batches:
            interrupt.raise_lost_signal(signals)
            if failure:
                break
            first.inbox.put((batch, None))
        first.inbox.put(_DONE)
        for worker in workers:
            worker.thread.join()
        if failure and isinstance(failure[0], DeliveryStopped):
            return _stopped(sink, failure[0])
        if failure:
            raise failure[0]
        return sink.close()
    except BaseException:
        failure.append(RuntimeError("aborted"))
        for worker in workers:  # let each finish its current batch, then stop it
            worker.stop()
        sink.abort()
        raise


class _Worker:
    """A thread doing ``work`` on each item of its inbox in order, handing the result to
    ``then`` (the next worker); after a failure (kept in ``failure`` for the caller) it drains
    without working, and it passes the end on."""

    def __init__(
        self,
        name: str,
        work: Callable[[Any], Any],
        failure: list[BaseException],
        then: _Worker | None = None,
    ) -> None:
        self.work, self.failure, self.then = work, failure, then
        self.inbox: queue.Queue[object] = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.inbox.get()
            if item is _DONE:
                if self.then is not None:
                    self.then.inbox.put(_DONE)
                return
            if self.failure:
                continue
            try:
                out = self.work(item)
                if self.then is not None:
                    self.then.inbox.put(out)
            except BaseException as exc:  # re-raised in the caller's thread
                self.failure.append(exc)

    def stop(self) -> None:
        while self.thread.is_alive():
            try:
                self.inbox.put(_DONE, timeout=0.1)
            except queue.Full:
                continue
            self.thread.join(timeout=5)


def _deliver_here(
    batches: Iterable[Batch],
    sink: Writable,
    on_batch: Callable[[int], None] | None,
    before_write: Callable[[Batch], None] | None,
    after_write: Callable[[Batch], None] | None,
) -> SinkReport:
    signals = len(interrupt.received)
    try:
        for batch in batches:
            interrupt.raise_lost_signal(signals)
            if before_write is not None:
                before_write(batch)
            try:
                sink.write(batch)
            except DeliveryStopped as exc:
                return _stopped(sink, exc)
            if after_write is not None:
                after_write(batch)
            if on_batch is not None:
                on_batch(batch.n)
        return sink.close()
    except BaseException:
        sink.abort()
        raise


def _stopped(sink: Writable, why: DeliveryStopped) -> SinkReport:
    """The report of a sink whose endpoint gave up: closed, not aborted (what it delivered
    stays delivered), with the reason in ``details["stopped"]``."""
    report = sink.close()
    if report.records == 0:  # nothing delivered: the failure is the whole answer (exit 2)
        raise OutputError(
            str(why), hint="nothing was delivered; check the endpoint is up and takes the records"
        )
    return replace(report, details={**report.details, "stopped": str(why)})


@dataclass
class Pace:
    """What a paced delivery knows beside what it sent (:func:`paced` fills it): the latest a
    batch went out against its due time, and how much of the schedule was due before the wall
    deadline but never sent (the publisher fell behind)."""

    late_s: float = 0.0
    unsent_s: float = 0.0

    @property
    def fell_behind(self) -> bool:
        """Whether what was left unsent at the deadline is more than jitter (0.1 s)."""
        return self.unsent_s >= LAG_TOLERANCE_S


LAG_TOLERANCE_S = (
    0.1  # schedule left unsent at the deadline below this is jitter, not falling behind
)


_END = object()


def paced(
    schedule: Iterable[tuple[float, T]],
    produce: Callable[[Any], Batch | None],
    write: Callable[[Batch], None],
    *,
    stop: threading.Event,
    duration_s: float = 0.0,
    on_batch: Callable[[int], None] | None = None,
    group: int = 0,
    pace: Pace | None = None,
) -> bool:
    """Live delivery: for each ``(due, item)`` of ``schedule`` (``due`` in seconds after the
    call), wait until it is due, then ``write(produce(item))``, so a batch is generated only
    when it is due and a summary counts only what was sent. Ends when the schedule does,
    when ``produce`` returns None, or at ``duration_s`` wall seconds (0: no limit): not at
    the last emission that fits in them, and not later however far behind the schedule is;
    returns True when ``stop`` (a signal) ended it.

    ``group`` > 0: ``produce`` gets a list of up to ``group`` items, every one due by then
    (one when on time, many when behind), so a fast schedule is not paced by a fixed cost
    per item (a one-device run at a high speedup spent ~6 ms a tick, 160 messages/s)."""
    # Everything set up so far (modules, plugins, kernels, one connection per device: ~200k
    # objects for 2,000 devices) lives as long as the run; each full collection walked it all
    # (~65 ms, a few per run). Frozen, collections walk only what the run allocates.
    gc.freeze()
    pace = pace if pace is not None else Pace()
    try:
        t0 = time.monotonic()
        items = iter(schedule)
        pending: Any = next(items, _END)
        while pending is not _END:
            due, item = pending
            if duration_s and due >= duration_s:  # the rest of the duration passes without a write
                return stop.wait(max(0.0, t0 + duration_s - time.monotonic()))
            if duration_s and time.monotonic() - t0 >= duration_s:  # behind: the deadline holds
                pace.unsent_s = duration_s - due
                return False
            if stop.wait(max(0.0, t0 + due - time.monotonic())):
                return True
            pace.late_s = max(pace.late_s, time.monotonic() - t0 - due)
            pending = next(items, _END)
            if group:
                taken = [item]
                now = time.monotonic() - t0
                while (
                    len(taken) < group
                    and pending is not _END
                    and pending[0] <= now
                    and not (duration_s and pending[0] >= duration_s)
                ):
                    taken.append(pending[1])
                    pending = next(items, _END)
                batch = produce(taken)
            else:
                batch = produce(item)
            if batch is None:
                return False
            if batch.n:
                write(batch)
                if on_batch is not None:
                    on_batch(batch.n)
            if stop.is_set():
                return True
        return False
    finally:
        gc.unfreeze()  # an in-process caller (a test, a notebook) gets its collector back
