"""Moves batches from a generator into a sink: generation and delivery overlap on two
threads (the kernels release the GIL), and any failure or interrupt aborts the sink so no
half-written output remains."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable

from synthkit.batch import Batch
from synthkit.records import Sink, SinkReport

_DONE = object()


def deliver(
    batches: Iterable[Batch],
    sink: Sink,
    columns: tuple[str, ...],
    on_batch: Callable[[int], None] | None = None,
) -> SinkReport:
    """Open ``sink``, write every batch, close it; abort it on any exception."""
    sink.open(columns)
    pending: queue.Queue[object] = queue.Queue(maxsize=1)  # bounded: memory stays flat
    failure: list[BaseException] = []

    def writer() -> None:
        while True:
            item = pending.get()
            if item is _DONE:
                return
            if failure:
                continue  # drain without writing after a failure
            try:
                sink.write(item)  # type: ignore[arg-type]
                if on_batch is not None:
                    on_batch(item.n)  # type: ignore[attr-defined]
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(exc)

    thread = threading.Thread(target=writer, name="synthkit-sink", daemon=True)
    thread.start()
    try:
        for batch in batches:
            if failure:
                break
            pending.put(batch)
        pending.put(_DONE)
        thread.join()
        if failure:
            raise failure[0]
        return sink.close()
    except BaseException:
        failure.append(RuntimeError("aborted"))
        while thread.is_alive():  # let the writer finish its current batch, then stop it
            try:
                pending.put(_DONE, timeout=0.1)
            except queue.Full:
                continue
            thread.join(timeout=5)
        sink.abort()
        raise
