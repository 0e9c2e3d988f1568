"""The two things the telematics family does: write a file, or stream to stdout."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from synthkit.api import (
    Batch,
    ConfigError,
    FileTarget,
    Part,
    Run,
    RunPlan,
    Shard,
    deliver,
    delivery_problems,
    per_second,
    progress_bar,
    redact,
    run_checks,
    sink_target,
    stop_on_signals,
)
from synthkit_telematics.clock import check_clock, clocked, feed_stamps, id_salt, now_ms
from synthkit_telematics.config import TelematicsConfig
from synthkit_telematics.fleet_shard import driver_events, fleet_of
from synthkit_telematics.generator import TelematicsGenerator
from synthkit_telematics.loop import Recorded, first_seqs, recipe
from synthkit_telematics.parts import part_about, part_output, record_part

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
    state_file: Path | None = None,
    options_file: Path | None = None,
    store: str = "",
    shard: Shard | None = None,
) -> dict[str, Any]:
    """Write ``events`` events to ``out`` through the sink it implies (or ``sink_name``);
    returns the JSON summary. ``seq``: each driver's event number as a column. Into an
    ingest sink, with a ``state_file``, the seqs count on from the state and the run writes
    a record (``store``: where the rows end up, when the command was told). ``shard``: only
    its drivers' events of the run of ``events``."""
    plugins = run.plugins
    if events < 1:
        raise ConfigError(f"--events must be at least 1, got {events}")
    out = os.fspath(out) if out is not None else None
    spec = _generate_sink(plugins, out, fmt, sink_name)
    target = sink_target(spec.kind, out, "telematics generate")
    with contextlib.ExitStack() as held:
        part = Part(None, Path("."), {})
        if spec.kind == "file" and shard is not None:  # a part of the dataset --out names
            about = part_about(run, config, events, spec, sink_options)
            target, part = part_output(about, spec, out or "", shard)
            if part.done():
                return part.summary()
        if isinstance(target, FileTarget):
            run_checks(plugins, "output", str(target.path))
        state, first = (
            held.enter_context(first_seqs(state_file, config.drivers, shard))
            if spec.kind == "ingest" and state_file is not None
            else (None, None)
        )
        labels, fleet, mine, planned = _share(config.drivers, events, shard)
        generator = TelematicsGenerator(
            config, plugins.event_types(), plugins=plugins, seq=seq, first_seq=first, fleet=fleet
        )
        plan = RunPlan(
            "telematics generate",
            seed=config.seed,
            streams=tuple(labels[d] for d in mine),
            rows=planned,
            **fault_plan(generator),
        )
        sink = run.open_sink(spec, target, sink_options or (), plan)
        loop = None
        if state is not None and state_file is not None:
            loop = Recorded(
                run, state, state_file, generator,
                command="telematics generate", sink=spec.name, target=redact(out or ""),
                recipe=recipe(generator, options_file, ""), planned=events, live=False,
                store=store,
            )  # fmt: skip
        started = time.perf_counter()
        with progress_bar(f"telematics -> {spec.name}", planned) as bar:
            report = _delivered(generator.batches(events), sink, generator.columns, bar, loop)
        elapsed = time.perf_counter() - started
    summary = {
        "command": "telematics generate",
        **({"run_id": loop.record.run_id} if loop is not None else {}),
        "events": report.records,
        "drivers": config.drivers,
        **({"shard": str(shard), "shard_drivers": len(mine)} if shard is not None else {}),
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
    if isinstance(target, FileTarget):
        record_part(part, target, report, summary)
    return summary


def _generate_sink(plugins: Any, out: str | None, fmt: str | None, name: str | None) -> Any:
    """The sink ``--format`` (a file sink), ``--sink`` or ``--out`` names."""
    if fmt and name and fmt != name:
        raise ConfigError(f"--format {fmt} and --sink {name} disagree", hint="give one of them")
    if fmt:
        return plugins.file_sink(out or "", fmt)
    return plugins.output_sink(out, name, kinds=GENERATE_KINDS, needed_by="telematics generate")


def _share(
    drivers: int, events: int, shard: Shard | None
) -> tuple[list[str], list[int] | None, Sequence[int], int]:
    """(every driver's id, the shard's drivers (None: all), the drivers this run drives,
    how many of the run's ``events`` are theirs)."""
    labels, fleet = fleet_of(drivers, shard)
    mine = range(drivers) if fleet is None else fleet
    return labels, fleet, mine, int(driver_events(events, drivers)[list(mine)].sum())


def _delivered(
    batches: Iterator[Batch], sink: Any, columns: tuple[str, ...], bar: Any, loop: Any
) -> Any:
    """``deliver``, each batch's seqs reserved before the sink gets it and counted once it
    took it when the run is recorded; the reservation settled however the run ends."""
    advance = bar.advance if bar is not None else None
    if loop is None:
        return deliver(batches, sink, columns, advance)
    status = "failed"
    try:
        report = deliver(
            batches, sink, columns, advance, before_write=loop.reserve, after_write=loop.taken
        )
        status = "interrupted" if report.details.get("stopped") else "finished"
        return report
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        loop.settle(status)


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
    state_file: Path | None = None,
    options_file: Path | None = None,
    store: str = "",
) -> int:
    """Print events as JSON lines (or hand them to ``sink_name``) until Ctrl+C, SIGTERM or
    ``max_events``; returns the count. ``clock``: see :mod:`synthkit_telematics.clock`. Into
    an ingest sink, with a ``state_file``, the seqs count on from the state and the run
    writes a record (as ``generate --out URL``).

    Every line is written whole with one write, so a reader never sees half a line.
    """
    plugins = run.plugins
    if interval < 0:
        raise ConfigError(f"--interval must be >= 0, got {interval}")
    check_clock(clock)
    spec = plugins.output_sink(out, sink_name, kinds=STREAM_KINDS, needed_by="telematics stream")
    with contextlib.ExitStack() as held:
        state, first = (
            held.enter_context(first_seqs(state_file, config.drivers))
            if spec.kind == "ingest" and state_file is not None
            else (None, None)
        )
        salt = id_salt(clock)
        generator = TelematicsGenerator(
            config, plugins.event_types(), id_salt=salt, plugins=plugins, seq=seq, first_seq=first
        )
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
        rows = PacedRows(generator, config, interval, max_events, clock)
        # Ctrl+C and SIGTERM only set a flag, checked between lines: no exception can cut a line.
        with stop_on_signals() as stop:
            if (
                spec.kind != "stream"
            ):  # a sink that stores: opened, written, closed like any delivery
                loop = None
                if state is not None and state_file is not None:
                    stamps = feed_stamps(clock, rows.started_ms, rows.every_ms, "event")
                    loop = Recorded(
                        run, state, state_file, generator,
                        command="telematics stream", sink=spec.name, target=redact(out or ""),
                        recipe=recipe(generator, options_file, salt, stamps),
                        planned=max_events, live=True, store=store,
                    )  # fmt: skip
                return _delivered(rows(stop), sink, generator.columns, None, loop).records
            return _to_stdout(sink, generator.columns, rows(stop))


def _to_stdout(sink: Any, columns: tuple[str, ...], batches: Iterator[Batch]) -> int:
    written = 0
    try:
        sink.open(columns)
        for batch in batches:
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


class PacedRows:
    """Batches of one event every ``interval`` seconds (4096 at a time when 0), until ``stop``,
    each stamped by ``clock`` as it is handed on: on the wall clock, with the instant it is
    due on the feed's schedule (``started_ms``, ``every_ms`` apart; now when unpaced)."""

    def __init__(
        self,
        generator: TelematicsGenerator,
        config: TelematicsConfig,
        interval: float,
        max_events: int | None,
        clock: str,
    ) -> None:
        self.generator, self.config, self.interval = generator, config, interval
        self.max_events, self.clock = max_events, clock
        self.started_ms, self.every_ms = now_ms(), round(interval * 1000)

    def __call__(self, stop: threading.Event) -> Iterator[Batch]:
        size = self.config.drivers if self.interval > 0 else 4096
        sent = 0
        for batch in self.generator.batches(self.max_events, batch_rows=size):
            step = 1 if self.interval > 0 else batch.n
            for start in range(0, batch.n, step):
                if stop.is_set():
                    return
                due = self.started_ms + sent * self.every_ms if self.every_ms else None
                yield clocked(batch.slice(start, start + step), self.clock, self.started_ms, due)
                sent += min(step, batch.n - start)
                if self.interval > 0 and stop.wait(self.interval):
                    return
