"""Executors: the N shards of a run (``--shards N``) as tasks, each the very command with
``--shard K/N`` appended, writing its own part of a dataset (:mod:`synthkit.dataset`); the
client seals the dataset once every shard is done.

- ``inline`` runs the shards one after another in this process;
- ``dask`` runs them on Dask distributed workers: a ``LocalCluster`` (``--workers`` processes
  of one thread) or the scheduler at ``--scheduler ADDRESS``. Dask runs a task again when its
  worker dies; a shard's output is the same bytes every time, and a part whose writer died
  is never recorded, so the manifest holds each part exactly once.

A task reports its progress through the Dask event log; the client draws the one bar.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import resource
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from synthkit.errors import ConfigError, IncompleteRun, SynthkitError
from synthkit.shards import Shard

EXECUTORS = ("inline", "dask")
# the executor's own flags: a shard's command line is the run's without them
OWN_FLAGS = ("--shards", "--executor", "--scheduler", "--workers")
REPORT_EVERY_S = 0.25


@dataclass(frozen=True)
class Executor:
    """How a sharded run runs: ``name`` (inline, dask), Dask's ``scheduler`` address or a
    local cluster of ``workers`` processes."""

    name: str = "inline"
    scheduler: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.name not in EXECUTORS:
            raise ConfigError(
                f"--executor {self.name!r} is not an executor",
                hint=f"give one of {', '.join(EXECUTORS)}",
            )
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        if self.name != "dask" and (self.scheduler or self.workers):
            raise ConfigError(
                "--scheduler and --workers are for --executor dask",
                hint="add --executor dask, or leave them out",
            )


def shard_argv(argv: Sequence[str], shard: Shard) -> list[str]:
    """The run's command line without the executor's flags, for ``shard``."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in OWN_FLAGS:
            skip = "=" not in arg
            continue
        out.append(arg)
    return [*out, "--shard", str(shard)]


def run_shard(argv: list[str], topic: str) -> dict[str, Any]:
    """One shard's command on a Dask worker, its progress sent to the client as events."""
    report = _Reporter(argv[-1], topic)
    result = captured(argv, report)
    report.send()
    return result


def captured(argv: list[str], report: Callable[[int], None]) -> dict[str, Any]:
    """``synthkit ARGV`` in this process: its exit code, its JSON summary, what it said on
    stderr, and this process's peak RSS; its progress goes to ``report``."""
    from synthkit.cli import run
    from synthkit.console import progress_reported_to

    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        progress_reported_to(report),
    ):
        code = run(argv)
    text = out.getvalue().strip()
    return {
        "shard": argv[-1],
        "code": code,
        "summary": json.loads(text) if code == 0 and text else None,
        "said": err.getvalue().strip(),
        "process": f"{socket.gethostname()}:{os.getpid()}",
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


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


def run_shards(
    executor: Executor, argv: Sequence[str], n: int, advance: Callable[[int], None]
) -> list[dict[str, Any]]:
    """Each shard's :func:`captured` result, in shard order, once all succeeded; the first
    failure is raised as the shard said it (its exit code kept)."""
    commands = [shard_argv(argv, Shard(k, n)) for k in range(1, n + 1)]
    if executor.name == "inline":
        return [_checked(captured(command, advance)) for command in commands]
    return _on_dask(executor, commands, advance)


def _on_dask(
    executor: Executor, commands: list[list[str]], advance: Callable[[int], None]
) -> list[dict[str, Any]]:
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
            client.submit(run_shard, command, topic, key=f"synthkit-{command[-1]}-{topic}")
            for command in commands
        ]
        results: dict[str, dict[str, Any]] = {}
        try:
            for future in as_completed(futures):
                result = _checked(_result_of(future))
                results[result["shard"]] = result
        finally:
            for future in futures:
                future.cancel()
        client.unsubscribe_topic(topic)
    return [results[c[-1]] for c in commands]


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
    except KilledWorker as exc:
        raise IncompleteRun(
            f"a shard's workers died each time it ran ({exc}); no manifest was written",
            hint="look at the workers' logs (memory limits?); the parts already written stay, "
            "and running the command again writes only what is missing",
        ) from None


def _checked(result: dict[str, Any]) -> dict[str, Any]:
    """A shard that failed, as the error it said (its exit code kept: 2 for bad input)."""
    if result["code"] == 0:
        return result
    said = result["said"].splitlines()[-1] if result["said"] else f"exit {result['code']}"
    message = said.removeprefix("error: ").removeprefix("incomplete: ")
    raise ShardFailed(f"shard {result['shard']}: {message}", result["code"])


class ShardFailed(SynthkitError):
    """A shard's command failed: its message, its exit code; no manifest is written."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message, hint="no manifest was written; fix it and run again")
        self.exit_code = code
