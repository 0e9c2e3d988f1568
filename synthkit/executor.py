"""Executors: the N shards of a run (``--shards N``, ``run --workers N``) as tasks, each the
very command with ``--shard K/N`` appended (writing its own part of a dataset,
:mod:`synthkit.dataset`, or publishing its share of a live fleet).

- ``inline`` runs the shards one after another;
- ``processes`` runs them side by side, ``--workers`` at a time, on this machine
  (:mod:`synthkit.executor_processes`);
- ``dask`` runs them on Dask distributed workers (:mod:`synthkit.executor_dask`), which run a
  task again when its worker dies.

Each shard is a process of its own (:func:`captured`); its progress reaches the client, which
draws the one bar.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from synthkit.errors import ConfigError, SynthkitError
from synthkit.interrupt import PARENT_PID
from synthkit.shards import Shard

EXECUTORS = ("inline", "processes", "dask")
# the executor's own flags: a shard's command line is the run's without them
OWN_FLAGS = ("--shards", "--executor", "--scheduler", "--workers")
REPORT_EVERY_S = 0.25
REPORT_FD = "SYNTHKIT_REPORT_FD"  # where a shard's process writes its progress


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
        if self.name != "dask" and self.scheduler:
            raise ConfigError(
                "--scheduler is for --executor dask", hint="add --executor dask, or leave it out"
            )
        if self.name == "inline" and self.workers:
            raise ConfigError(
                "--workers is for --executor processes or dask (inline runs one at a time)",
                hint="add --executor processes (or dask), or leave --workers out",
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


def captured(argv: list[str], report: Callable[[int], None], run: str = "") -> dict[str, Any]:
    """``synthkit ARGV`` as a process of its own: its exit code, its JSON summary, what it
    said on stderr, and its peak RSS; its progress goes to ``report``; ``run`` names the run
    it belongs to, for :func:`stop_shards`.

    A process per shard, not a call in this one: the shard is exactly the command run by
    hand (its main thread, its signals, its allocator settings), and all its memory goes
    when it ends, so a worker running shard after shard stays as small as one shard."""
    read, write = os.pipe()
    env = {**os.environ, REPORT_FD: str(write), PARENT_PID: str(os.getpid())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthkit", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        pass_fds=(write,),
    )
    os.close(write)
    with children_lock:
        children[proc] = run
    reader = threading.Thread(target=_forward, args=(read, report), daemon=True)
    reader.start()
    try:
        out, err = proc.communicate()
    finally:
        with children_lock:
            children.pop(proc, None)
        reader.join()
    return {
        "shard": argv[-1],
        "code": proc.returncode,
        "summary": _json(out.decode(errors="replace").strip()),
        "said": err.decode(errors="replace").strip(),
        "process": f"{socket.gethostname()}:{os.getpid()}",
        # the largest of this process's shards so far (a worker runs them one at a time),
        # and the worker's own (a Dask worker, the client)
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "own_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


children: dict[subprocess.Popen[bytes], str] = {}  # the shards running here, and their run's name
children_lock = threading.Lock()


def stop_shards(run: str = "") -> None:
    """SIGTERM to the shards of ``run`` running in this process (all, without a name): each
    stops as one run does on it, with its summary. Called on a Dask worker by the client."""
    with children_lock:
        running = [proc for proc, name in children.items() if not run or name == run]
    for proc in running:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)


def _forward(fd: int, report: Callable[[int], None]) -> None:
    """The shard's progress lines (rows done since the last) to ``report``."""
    with os.fdopen(fd, "rb") as lines:
        for line in lines:
            with contextlib.suppress(ValueError):
                report(int(line))


def _json(text: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(text) if text else None
    except ValueError:  # a command that failed before its summary
        return None
    return doc if isinstance(doc, dict) else None


def run_shards(
    executor: Executor,
    argv: Sequence[str],
    n: int,
    advance: Callable[[int], None],
    stop: threading.Event | None = None,
) -> list[dict[str, Any]]:
    """Each shard's :func:`captured` result, in shard order, once all succeeded; the first
    failure is raised as the shard said it (its exit code kept)."""
    commands = [shard_argv(argv, Shard(k, n)) for k in range(1, n + 1)]
    if executor.name == "inline":
        return [checked(captured(command, advance)) for command in commands]
    if executor.name == "processes":
        from synthkit.executor_processes import on_processes

        return on_processes(executor.workers or n, commands, advance, stop)
    from synthkit.executor_dask import on_dask

    return on_dask(executor, commands, advance, stop)


def checked(result: dict[str, Any]) -> dict[str, Any]:
    """A shard that failed, as the error it said (its exit code kept: 2 for bad input); one
    that ran but did not do all it was asked (exit 3) is returned with its summary, for the
    caller to say what that means for the whole run."""
    if result["code"] == 0 or (result["code"] == 3 and result["summary"] is not None):
        return result
    raise failure(result)


def failure(result: dict[str, Any]) -> ShardFailed:
    """What a shard that failed said, as the run's error (one killed by a signal: exit 3,
    an incomplete run)."""
    code = result["code"]
    if code < 0:
        return ShardFailed(f"shard {result['shard']}: its process was killed (signal {-code})", 3)
    said = result["said"].splitlines()[-1] if result["said"] else f"exit {code}"
    message = said.removeprefix("error: ").removeprefix("incomplete: ")
    return ShardFailed(f"shard {result['shard']}: {message}", code)


class ShardFailed(SynthkitError):
    """A shard's command failed: its message, its exit code (no manifest is written)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)  # the message holds the shard's own hint
        self.exit_code = code
