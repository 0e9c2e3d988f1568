"""``--shards N``: a producing command run as its N shards on an executor
(:mod:`synthkit.executor`), into one dataset (:mod:`synthkit.dataset`) sealed at the end."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthkit.console import emit_json, per_second, progress_bar
from synthkit.dataset import MANIFEST, seal
from synthkit.executor import Executor, ShardFailed, failure, run_shards
from synthkit.interrupt import stop_on_signals
from synthkit.statelock import StateLock

if TYPE_CHECKING:
    import typer


def run_sharded(
    ctx: typer.Context,
    command: str,
    shards: int,
    executor: str = "inline",
    scheduler: str | None = None,
    workers: int | None = None,
    total: int | None = None,
) -> None:
    """Run the invoked command's ``shards`` shards (each the same command line with
    ``--shard K/N``) on ``executor``, seal their dataset, print the summary. ``total``: the
    rows the whole run writes, for the progress bar."""
    from synthkit.context import global_options

    how = Executor(executor, scheduler, workers)
    argv = global_options(ctx).argv
    if not argv:
        raise RuntimeError("--shards needs the command line: run commands through synthkit.cli.run")
    started = time.perf_counter()
    try:
        with (
            _state_shared(ctx),
            progress_bar(f"{command}: {shards} shards ({how.name})", total) as bar,
        ):
            results = run_shards(how, argv, shards, bar.advance)
        for r in results:
            if r["code"] != 0:  # a part that is not all it should be is no part
                raise failure(r)
    except ShardFailed as exc:
        raise ShardFailed(f"{exc.message}; no manifest was written", exc.exit_code) from None
    directories = {r["summary"]["dataset"] for r in results}
    if len(directories) != 1:
        raise RuntimeError(f"the shards wrote into {len(directories)} datasets: {directories}")
    directory = Path(directories.pop())
    # the workers hashed each part as they wrote it, and seal checks every size: reading the
    # parts again would double the run's I/O (`synthkit dataset seal` verifies each hash)
    manifest = seal(directory, verify=False)
    elapsed = time.perf_counter() - started
    peaks: dict[str, int] = {}  # per worker: its largest shard process's peak
    own: dict[str, int] = {}  # and the worker process's own
    for r in results:
        peaks[r["process"]] = max(peaks.get(r["process"], 0), r["peak_rss_bytes"])
        own[r["process"]] = max(own.get(r["process"], 0), r["own_rss_bytes"])
    emit_json(
        {
            "command": command,
            "dataset": str(directory),
            "manifest": str(directory / MANIFEST),
            "shards": shards,
            "executor": how.name,
            "rows": manifest["rows"],
            "elapsed_seconds": round(elapsed, 3),
            "rows_per_second": per_second(manifest["rows"], elapsed),
            "peak_rss_mb": {p: round(v / 2**20, 1) for p, v in sorted(peaks.items())},
            "worker_rss_mb": {p: round(v / 2**20, 1) for p, v in sorted(own.items())},
        }
    )


@contextlib.contextmanager
def _state_shared(ctx: typer.Context) -> Iterator[None]:
    """The state file held shared while the shards run (each holds its own part of it): no
    run of the whole fleet comes between them, and the last one out tidies what the lock
    made."""
    from synthkit.context import global_options

    lock = StateLock.acquire(global_options(ctx).state_file, shared=True)
    try:
        yield
    finally:
        lock.release(keep=lock.guards.exists())


def run_spread(
    ctx: typer.Context,
    command: str,
    workers: int,
    executor: str = "processes",
    scheduler: str | None = None,
    total: int | None = None,
    pinned: tuple[str, ...] = (),
) -> None:
    """A live command's fleet spread over ``workers`` processes (``run --workers N``): each
    the same command line with ``--shard K/N``, all at once, each with its own slice of the
    state and its own run record; one summary of them all (exit 3 when any shard's run was
    incomplete, as one run's would be). ``pinned``: flags every shard gets, decided once
    here (the simulated clock's start, so that the shards' clocks are one)."""
    from synthkit.context import global_options
    from synthkit.errors import ConfigError, IncompleteRun

    if executor == "inline":
        raise ConfigError(
            "--workers runs the fleet's shards at once: --executor processes or dask",
            hint="leave --executor out (processes), or give --executor dask",
        )
    how = Executor(executor, scheduler, workers)
    started = time.perf_counter()
    # Ctrl+C or SIGTERM: each shard stops as one run does, and this ends with them
    with (
        _state_shared(ctx),
        stop_on_signals() as stop,
        progress_bar(f"{command}: {workers} workers ({how.name})", total) as bar,
    ):
        argv = [*global_options(ctx).argv, *pinned]
        results = run_shards(how, argv, workers, bar.advance, stop)
    summary = merge_summaries([r["summary"] for r in results])
    summary.update(workers=workers, executor=how.name)
    summary["elapsed_seconds"] = round(time.perf_counter() - started, 3)
    emit_json(summary)
    if any(r["code"] == 3 for r in results):
        raise IncompleteRun(
            "; ".join(summary.get("warnings") or ["a shard's run was incomplete"]),
            hint="see warnings in the summary on stdout",
        )


SUMMED_RATES = ("_per_second",)  # concurrent shards: the run's rate is their sum


def merge_summaries(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The shards' summaries as one: counts added, lists joined, mappings merged, what they
    agree on kept; ``run_id``s listed as ``run_ids``; elapsed and maxima, the largest."""
    out: dict[str, Any] = {}
    for key in dict.fromkeys(k for s in summaries for k in s):  # every shard's, in order
        values = [s[key] for s in summaries if key in s]
        if key == "run_id":
            out["run_ids"] = values
        elif key not in ("shard", "shard_drivers"):
            out[key] = _merged(key, values)
    return out


def _merged(key: str, values: list[Any]) -> Any:
    if key == "elapsed_seconds" or key.endswith("_max") or key.startswith("max_"):
        return max(values)
    if all(v == values[0] for v in values) and not key.endswith(SUMMED_RATES):
        return values[0]
    kinds = {type(v) for v in values}
    if kinds == {bool}:
        return all(values) if key == "complete" else any(values)
    if kinds <= {int, float}:
        return sum(values)
    if kinds == {dict}:
        return merge_summaries(values)
    if kinds == {list}:
        return [x for v in values for x in v]
    return values
