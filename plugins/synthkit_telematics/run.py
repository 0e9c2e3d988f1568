"""The two things the telematics family does: write a file, or stream to stdout."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from synthkit.api import (
    Batch,
    ConfigError,
    Run,
    RunPlan,
    deliver,
    delivery_problems,
    per_second,
    progress_bar,
    redact,
    run_checks,
    sink_target,
    stop_on_signals,
)
from synthkit_telematics.clock import check_clock, clocked, id_salt, now_ms
from synthkit_telematics.config import TelematicsConfig
from synthkit_telematics.generator import TelematicsGenerator

GENERATE_KINDS = ("file", "ingest")


def fault_plan(generator: TelematicsGenerator) -> dict[str, Any]:
    """A run plan's faults (the options file's), and the start their windows count from."""
    if generator.faults is None:
        return {}
    start = generator.config.start.isoformat().replace("+00:00", "Z")
    return {
        "faults": generator.faults,
        "extra": {"window_start": start},
    }  # a file, or an endpoint or database (stdout is `stream`)


def generate_file(
    run: Run,
    config: TelematicsConfig,
    events: int,
    out: str | os.PathLike[str] | None,
    fmt: str | None,
    sink_name: str | None = None,
    sink_options: list[str] | None = None,
    seq: bool = True,
) -> dict[str, Any]:
    """Write ``events`` events to ``out`` through the sink it implies (or ``sink_name``);
    returns the JSON summary. ``seq``: each driver's event number as a column."""
    plugins = run.plugins
    if events < 1:
        raise ConfigError(f"--events must be at least 1, got {events}")
    out = os.fspath(out) if out is not None else None
    if fmt and sink_name and fmt != sink_name:
        raise ConfigError(
            f"--format {fmt} and --sink {sink_name} disagree", hint="give one of them"
        )
    spec = (
        plugins.file_sink(out or "", fmt)
        if fmt
        else plugins.output_sink(
            out, sink_name, kinds=GENERATE_KINDS, needed_by="telematics generate"
        )
    )
    target = sink_target(spec.kind, out, "telematics generate")
    if spec.kind == "file":
        run_checks(plugins, "output", out)
    generator = TelematicsGenerator(config, plugins.event_types(), plugins=plugins, seq=seq)
    plan = RunPlan(
        "telematics generate",
        seed=config.seed,
        streams=tuple(generator.driver_labels),
        rows=events,
        **fault_plan(generator),
    )
    sink = run.open_sink(spec, target, sink_options or (), plan)
    started = time.perf_counter()
    with progress_bar(f"telematics -> {spec.name}", events) as bar:
        report = deliver(generator.batches(events), sink, generator.columns, bar.advance)
    elapsed = time.perf_counter() - started
    return {
        "command": "telematics generate",
        "events": report.records,
        "drivers": config.drivers,
        "seed": config.seed,
        "start": config.start.isoformat().replace("+00:00", "Z"),
        "format": spec.name,
        "sink": spec.name,
        "out": redact(out) if out else None,
        "bytes": report.bytes,
        **({"outcomes": dict(report.outcomes)} if report.outcomes else {}),
        "warnings": delivery_problems(report.outcomes, report.details),
        "columns": list(sink.columns),
        "event_type_counts": generator.counts,
        "elapsed_seconds": round(elapsed, 3),
        "events_per_second": per_second(report.records, elapsed),
    }


STREAM_KINDS = ("stream", "ingest")  # stdout, or an endpoint or database, event by event


def stream_stdout(
    run: Run,
    config: TelematicsConfig,
    interval: float,
    max_events: int | None,
    sink_name: str = "stdout",
    sink_options: list[str] | None = None,
    out: str | None = None,
    clock: str = "wall",
    seq: bool = True,
) -> int:
    """Print events as JSON lines (or hand them to ``sink_name``) until Ctrl+C, SIGTERM or
    ``max_events``; returns the count. ``clock``: see :mod:`synthkit_telematics.clock`.

    Every line is written whole with one write, so a reader never sees half a line.
    """
    plugins = run.plugins
    if interval < 0:
        raise ConfigError(f"--interval must be >= 0, got {interval}")
    check_clock(clock)
    generator = TelematicsGenerator(
        config, plugins.event_types(), id_salt=id_salt(clock), plugins=plugins, seq=seq
    )
    spec = plugins.output_sink(out, sink_name, kinds=STREAM_KINDS, needed_by="telematics stream")
    plan = RunPlan(
        "telematics stream",
        seed=config.seed,
        streams=tuple(generator.driver_labels),
        **fault_plan(generator),
        rows=max_events,
        live=True,
    )
    sink = run.open_sink(
        spec, sink_target(spec.kind, out, "telematics stream"), sink_options or (), plan
    )
    rows = _paced_rows(generator, config, interval, max_events, clock)
    written = 0
    # Ctrl+C and SIGTERM only set a flag, checked between lines: no exception can cut a line.
    with stop_on_signals() as stop:
        if spec.kind != "stream":  # a sink that stores: opened, written, closed like any delivery
            return deliver(rows(stop), sink, generator.columns).records
        try:
            sink.open(generator.columns)
            for batch in rows(stop):
                sink.write(batch)
                written += batch.n
            sink.close()
            return written
        except KeyboardInterrupt:
            return written
        except BrokenPipeError:
            # the reader went away (e.g. `| head`): stop quietly, as a Unix filter does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return written


def _paced_rows(
    generator: TelematicsGenerator,
    config: TelematicsConfig,
    interval: float,
    max_events: int | None,
    clock: str,
) -> Callable[[threading.Event], Iterator[Batch]]:
    """Batches of one event every ``interval`` seconds (4096 at a time when 0), until ``stop``,
    each stamped by ``clock`` as it is handed on."""

    def rows(stop: threading.Event) -> Iterator[Batch]:
        size = config.drivers if interval > 0 else 4096
        started_ms = now_ms()
        for batch in generator.batches(max_events, batch_rows=size):
            step = 1 if interval > 0 else batch.n
            for start in range(0, batch.n, step):
                if stop.is_set():
                    return
                yield clocked(batch.slice(start, start + step), clock, started_ms)
                if interval > 0 and stop.wait(interval):
                    return

    return rows
