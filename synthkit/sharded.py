"""``--shards N``: a producing command run as its N shards on an executor
(:mod:`synthkit.executor`), into one dataset (:mod:`synthkit.dataset`) sealed at the end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from synthkit.console import emit_json, per_second, progress_bar
from synthkit.dataset import MANIFEST, seal
from synthkit.executor import Executor, run_shards
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
    # held shared while the shards run (each holds its own part of it): no run of the whole
    # fleet comes between them, and the last one out tidies what the state's lock made
    state = StateLock.acquire(global_options(ctx).state_file, shared=True)
    try:
        with progress_bar(f"{command}: {shards} shards ({how.name})", total) as bar:
            results = run_shards(how, argv, shards, bar.advance)
    finally:
        state.release(keep=state.guards.exists())
    directories = {r["summary"]["dataset"] for r in results}
    if len(directories) != 1:
        raise RuntimeError(f"the shards wrote into {len(directories)} datasets: {directories}")
    directory = Path(directories.pop())
    # the workers hashed each part as they wrote it, and seal checks every size: reading the
    # parts again would double the run's I/O (`synthkit dataset seal` verifies each hash)
    manifest = seal(directory, verify=False)
    elapsed = time.perf_counter() - started
    peaks: dict[str, int] = {}
    for r in results:
        peaks[r["process"]] = max(peaks.get(r["process"], 0), r["peak_rss_bytes"])
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
        }
    )
