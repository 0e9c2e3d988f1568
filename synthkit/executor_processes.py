"""``--executor processes`` (and ``run --workers N``): the shards side by side on this
machine, no cluster needed: each shard is a process of its own (:func:`captured`), at most
``workers`` at a time. A SIGTERM to the client is passed on to every shard, which stops as on
Ctrl+C, and the client then ends with their summaries: a live fleet spread over processes
ends as one run does. A shard that dies is not run again (Dask's executor does that)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from synthkit.executor import captured, checked, stop_shards
from synthkit.interrupt import Terminated


def on_processes(
    workers: int,
    commands: list[list[str]],
    advance: Callable[[int], None],
    stop: threading.Event | None = None,
) -> list[dict[str, Any]]:
    """Each command's result, in order, once all succeeded (the first failure raised).
    ``stop`` set (a live run's Ctrl+C or SIGTERM): each shard is told to stop."""
    results: dict[str, dict[str, Any]] = {}
    # threads only wait: each shard runs in its own process
    with ThreadPoolExecutor(max_workers=min(workers, len(commands))) as pool:
        pending: set[Future[dict[str, Any]]] = {pool.submit(captured, c, advance) for c in commands}
        told = stopping = False
        try:
            while pending:
                try:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                except Terminated:  # SIGTERM to the client: each shard stops as one run does,
                    done, stopping = set(), True  # with its summary, and the run ends with theirs
                if not told and (stopping or (stop is not None and stop.is_set())):
                    stop_shards()
                    told = True
                for future in done:
                    result = checked(future.result())
                    results[result["shard"]] = result
        finally:
            for future in pending:
                future.cancel()
    return [results[c[-1]] for c in commands]
