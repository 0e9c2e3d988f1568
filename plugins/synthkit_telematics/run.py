"""The two things the telematics family does: write a file, or stream to stdout."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from synthkit.api import (
    ConfigError,
    Plugins,
    deliver,
    progress_bar,
    run_checks,
    stop_on_signals,
)
from synthkit_telematics.generator import TelematicsConfig, TelematicsGenerator


def generate_file(
    plugins: Plugins, config: TelematicsConfig, events: int, out: Path, fmt: str | None
) -> dict[str, Any]:
    """Write ``events`` events to ``out``; returns the JSON summary."""
    if events < 1:
        raise ConfigError(f"--events must be at least 1, got {events}")
    spec = plugins.file_sink(out, fmt)
    run_checks(plugins, "output", out)
    generator = TelematicsGenerator(config, plugins.event_types())
    sink = spec.factory(out)
    started = time.perf_counter()
    with progress_bar(f"telematics -> {out.name}", events) as bar:
        report = deliver(generator.batches(events), sink, generator.columns, bar.advance)
    elapsed = time.perf_counter() - started
    return {
        "command": "telematics generate",
        "events": report.records,
        "drivers": config.drivers,
        "seed": config.seed,
        "start": config.start.isoformat().replace("+00:00", "Z"),
        "format": spec.name,
        "out": str(out),
        "bytes": report.bytes,
        "columns": list(generator.columns),
        "event_type_counts": generator.counts,
        "elapsed_seconds": round(elapsed, 3),
        "events_per_second": round(report.records / elapsed) if elapsed > 0 else None,
    }


def stream_stdout(
    plugins: Plugins, config: TelematicsConfig, interval: float, max_events: int | None
) -> int:
    """Print events as JSON lines until Ctrl+C, SIGTERM or ``max_events``; returns the count.

    Every line is written whole with one write, so a reader never sees half a line.
    """
    if interval < 0:
        raise ConfigError(f"--interval must be >= 0, got {interval}")
    generator = TelematicsGenerator(config, plugins.event_types())
    spec = plugins.sink("stdout", "stream", needed_by="telematics stream", fix="install synthkit's stdout sink")
    sink = spec.factory(None)
    written = 0
    # Ctrl+C and SIGTERM only set a flag, checked between lines: no exception can cut a line.
    with stop_on_signals() as stop:
        try:
            sink.open(generator.columns)
            rows = config.drivers if interval > 0 else 4096
            for batch in generator.batches(max_events, batch_rows=rows):
                step = 1 if interval > 0 else batch.n
                for start in range(0, batch.n, step):
                    if stop.is_set():
                        return written
                    sink.write(batch.slice(start, start + step))
                    written += min(step, batch.n - start)
                    if interval > 0 and stop.wait(interval):
                        return written
            return written
        except KeyboardInterrupt:
            return written
        except BrokenPipeError:
            # the reader went away (e.g. `| head`): stop quietly, as a Unix filter does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return written
