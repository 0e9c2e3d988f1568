"""``--executor dask``: the shards as tasks on Dask distributed workers, a ``LocalCluster``
(``--workers`` processes of one thread) or the scheduler at ``--scheduler ADDRESS``. Dask
runs a task again when its worker dies; a shard's output is the same bytes every time, and a
part whose writer died is never recorded, so the manifest holds each part exactly once. A
task reports its progress through the Dask event log.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from synthkit.errors import ConfigError, IncompleteRun
from synthkit.executor import REPORT_EVERY_S, Executor, captured, checked, stop_shards

RETRIES = 2  # a shard process killed mid-part runs again (a dead worker: allowed-failures)


def run_shard(argv: list[str], topic: str) -> dict[str, Any]:
    """One shard's command on a Dask worker, its progress sent to the client as events."""
    report = _Reporter(argv[-1], topic)
    result = captured(argv, report, run=topic)
    report.send()
    if result["code"] < 0:  # killed (the OOM killer, kill -9): Dask runs the task again
        raise ShardKilled(f"shard {argv[-1]} was killed by signal {-result['code']}")
    return result


class ShardKilled(RuntimeError):
    """A shard's process died of a signal: the task fails, and Dask retries it."""


class _Reporter:
    """Rows done, sent to the client as Dask events at most every REPORT_EVERY_S."""

    def __init__(self, shard: str, topic: str) -> None:
        from distributed import get_worker

        self.worker, self.shard, self.topic = get_worker(), shard, topic
        self.attempt = uuid.uuid4().hex  # a task run again counts afresh
        self.done, self.last = 0, 0.0

    def __call__(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self.last >= REPORT_EVERY_S:
            self.send()

    def send(self) -> None:
        self.last = time.monotonic()
        msg = {"shard": self.shard, "attempt": self.attempt, "rows": self.done}
        self.worker.log_event(self.topic, msg)


def on_dask(
    executor: Executor,
    commands: list[list[str]],
    advance: Callable[[int], None],
    stop: threading.Event | None = None,
) -> list[dict[str, Any]]:
    """Each command's result, in order, once all succeeded. ``stop`` set (a live run's Ctrl+C
    or SIGTERM): each shard is told to stop, on whichever worker it runs."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ConfigError(
            "--executor dask needs Dask distributed, which is not installed",
            hint="pip install 'synthkit[dask]'",
        ) from None
    topic = f"synthkit-progress-{uuid.uuid4().hex}"
    shown: dict[str, int] = {}  # rows each shard's latest report said

    def on_event(event: tuple[float, dict[str, Any]]) -> None:
        # a task run again (its worker died) counts from zero: the bar goes back, honestly
        msg = event[1]
        advance(msg["rows"] - shown.get(msg["shard"], 0))
        shown[msg["shard"]] = msg["rows"]

    with contextlib.ExitStack() as stack:
        if executor.scheduler:
            client = stack.enter_context(_connect(Client, executor.scheduler))
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=executor.workers or 2,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
        client.subscribe_topic(topic, on_event)
        futures = [
            client.submit(
                run_shard, command, topic, key=f"synthkit-{command[-1]}-{topic}", retries=RETRIES
            )
            for command in commands
        ]
        results: dict[str, dict[str, Any]] = {}
        finished = threading.Event()
        if stop is not None:
            threading.Thread(
                target=_pass_stop_on, args=(client, topic, stop, finished), daemon=True
            ).start()
        try:
            for future in as_completed(futures):
                result = checked(_result_of(future))
                results[result["shard"]] = result
        finally:
            finished.set()
            for future in futures:
                future.cancel()
        client.unsubscribe_topic(topic)
    return [results[c[-1]] for c in commands]


def _pass_stop_on(
    client: Any, topic: str, stop: threading.Event, finished: threading.Event
) -> None:
    """Once ``stop`` is set (Ctrl+C or SIGTERM to the client of a live run): every worker
    sends SIGTERM to this run's shards, which end as one run does, with their summaries."""
    while not finished.is_set():
        if stop.wait(0.2):
            with contextlib.suppress(OSError, TimeoutError, RuntimeError):  # a worker gone:
                client.run(stop_shards, topic)  # its shard ended with it
            return


def _connect(client_class: Any, address: str) -> Any:
    try:
        return client_class(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {address} ({exc})",
            hint="check --scheduler (tcp://HOST:8786), or leave it out for a local cluster",
        ) from None


def _result_of(future: Any) -> dict[str, Any]:
    from distributed import KilledWorker

    try:
        return dict(future.result())
    except (KilledWorker, ShardKilled) as exc:
        raise IncompleteRun(
            f"a shard died each time it ran ({exc}); no manifest was written",
            hint="look at the workers' logs (memory limits?); the parts already written stay, "
            "and running the command again writes only what is missing",
        ) from None
