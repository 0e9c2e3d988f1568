"""``--executor processes`` (and ``run --workers N``): the shards side by side in worker
processes of this machine, no cluster needed. Each worker stops like Ctrl+C on SIGTERM, and
the client passes a SIGTERM it gets on to them, so a live fleet spread over processes ends
as one run does. A worker that dies is not run again (Dask's executor does that)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from synthkit.errors import IncompleteRun
from synthkit.executor import REPORT_EVERY_S, captured, checked
from synthkit.interrupt import Terminated

_reports: Any = None  # the worker's queue to the client (set when the worker starts)


def _start_worker(reports: Any) -> None:
    from synthkit.interrupt import terminate_like_ctrl_c

    global _reports
    _reports = reports
    terminate_like_ctrl_c()


def run_in_worker(argv: list[str]) -> dict[str, Any]:
    """One shard's command in a worker process, its progress sent to the client."""
    shard, done, last = argv[-1], [0], [0.0]

    def report(n: int) -> None:
        done[0] += n
        if time.monotonic() - last[0] >= REPORT_EVERY_S:
            last[0] = time.monotonic()
            _reports.put((shard, done[0]))

    result = captured(argv, report)
    _reports.put((shard, done[0]))
    return result


def on_processes(
    workers: int, commands: list[list[str]], advance: Callable[[int], None]
) -> list[dict[str, Any]]:
    """Each command's result, in order, once all succeeded (the first failure raised)."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    reports = context.Queue()
    shown: dict[str, int] = {}

    def drain() -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                shard, rows = reports.get_nowait()
                advance(rows - shown.get(shard, 0))
                shown[shard] = rows

    results: dict[str, dict[str, Any]] = {}
    with ProcessPoolExecutor(
        max_workers=min(workers, len(commands)),
        mp_context=context,
        initializer=_start_worker,
        initargs=(reports,),
    ) as pool:
        pending: set[Future[dict[str, Any]]] = {pool.submit(run_in_worker, c) for c in commands}
        try:
            while pending:
                try:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                except Terminated:  # SIGTERM to the client: each worker stops as it would
                    _stop(pool)
                    wait(pending)
                    raise
                drain()
                for future in done:
                    result = checked(_result_of(future))
                    results[result["shard"]] = result
        finally:
            for future in pending:
                future.cancel()
        drain()
    return [results[c[-1]] for c in commands]


def _stop(pool: ProcessPoolExecutor) -> None:
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)


def _result_of(future: Future[dict[str, Any]]) -> dict[str, Any]:
    try:
        return future.result()
    except BrokenProcessPool:
        raise IncompleteRun(
            "a worker process died (killed, or out of memory); no manifest was written",
            hint="run it again (the parts already written are kept), or use --executor dask, "
            "which runs a dead worker's task again",
        ) from None
