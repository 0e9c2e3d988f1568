"""``synthkit export`` and ``synthkit live``: the producing commands of every family that
emits on ticks (``Family.ticks``, :mod:`synthkit.ticks`), through any file sink and any
broker sink. Both hold the state file for the whole command, as every writer does: export
advances it once the file is whole; live reserves seqs before the broker has them (a killed
run leaves a gap, never a reused seq) and keeps a run record for reconcile and replay."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from synthkit.console import progress_bar
from synthkit.context import global_options, plugins_of
from synthkit.errors import ConfigError
from synthkit.flags import BrokerFlag, BrokerSinkFlag, SinkOptionFlag


def _fleet(ctx: typer.Context) -> tuple[Any, Any]:
    from synthkit.fleets import load_fleet

    return load_fleet(str(global_options(ctx).require_scenario()), plugins_of(ctx))


def export_command(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", help="The file to write; its ending picks the file sink.")
    ],
    fmt: Annotated[
        str | None, typer.Option("--format", help="A file sink, instead of the ending's.")
    ] = None,
    end_at: Annotated[
        str | None, typer.Option("--end-at", help="UTC end of the window (default: now).")
    ] = None,
    hours: Annotated[
        float | None,
        typer.Option("--hours", help="The window's length (default: the scenario's, else 24)."),
    ] = None,
    sink_option: SinkOptionFlag = None,
) -> None:
    """Write a window of a ticks family's fleet (one record per device per tick) to a file sink."""
    from synthkit.contracts import FileTarget
    from synthkit.engine import deliver
    from synthkit.preflight import run_checks
    from synthkit.run import RunPlan, start_run
    from synthkit.sink_build import parse_sink_options
    from synthkit.state import SeqState
    from synthkit.ticks import interval_of, iso, tick_batches, tick_run
    from synthkit.timeparse import parse_utc

    plugins, opts = plugins_of(ctx), global_options(ctx)
    family, fleet = _fleet(ctx)
    spec = plugins.file_sink(out, fmt)
    options = parse_sink_options(spec, sink_option or ())
    run_checks(plugins, "output", out)
    window_s = hours * 3600 if hours is not None else getattr(fleet, "window_s", 86_400)
    if not window_s > 0:
        raise ConfigError(f"--hours must be > 0, got {hours}")
    ids = [d.device_id for d in fleet.devices]
    with start_run(ctx, "export") as run, SeqState.held(opts.state_file) as state:
        first = [state.next_seq(d) for d in ids]
        interval = interval_of(family, fleet)
        end_s = int(parse_utc(end_at or "now", "--end-at").timestamp()) // interval * interval
        ticks = max(1, int(window_s) // interval)
        origin_s = end_s - (ticks - 1) * interval
        ticker = tick_run(family, fleet, first, origin_s)
        plan = RunPlan(
            "export",
            seed=fleet.seed,
            window=(iso(origin_s), iso(end_s)),
            streams=tuple(ids),
            rows=ticks * len(ids),
        )
        sink = run.open_sink(spec, FileTarget(out), options, plan)
        with progress_bar(f"export -> {out.name}", ticks * len(ids)) as bar:
            batches = tick_batches(ticker, len(ids), 0, ticks)
            report = deliver(batches, sink, ticker.columns, bar.advance)
        for device, seq in zip(ids, first):  # the file is whole: its seqs are spent
            state.advance(device, seq + ticks - 1)
        state.save()
        run.finish(
            {
                "command": "export",
                "family": family.name,
                "scenario_id": fleet.scenario_id,
                "format": spec.name,
                "out": str(out),
                "window": {"start_at": iso(origin_s), "end_at": iso(end_s)},
                "devices": len(ids),
                "rows": report.records,
                "bytes": report.bytes,
                "columns": list(sink.columns),
            },
            [],
        )


def live_command(
    ctx: typer.Context,
    iterations: Annotated[
        int, typer.Option("--iterations", min=0, help="Records per device (0: until stopped).")
    ] = 0,
    duration_seconds: Annotated[
        float, typer.Option("--duration-seconds", help="Stop after this long (0: no limit).")
    ] = 0.0,
    every: Annotated[
        float, typer.Option("--every", help="Wall-clock seconds between ticks.")
    ] = 1.0,
    broker_url: BrokerFlag = None,
    host: Annotated[str | None, typer.Option("--host", help="Broker host.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Broker port.")] = None,
    topic: Annotated[
        str | None,
        typer.Option("--topic", help="Topic template (default: the scenario's, the family's)."),
    ] = None,
    qos: Annotated[int, typer.Option("--qos", help="Delivery guarantee, 0 or 1.")] = 1,
    sink: BrokerSinkFlag = None,
    sink_option: SinkOptionFlag = None,
) -> None:
    """Publish a ticks family's fleet live, one connection per device, with a run record."""
    import numpy as np

    from synthkit.brokers import BrokerRequest
    from synthkit.contracts import BrokerTarget
    from synthkit.engine import paced
    from synthkit.interrupt import stop_on_signals
    from synthkit.reservation import Reservation
    from synthkit.run import RunPlan, start_run
    from synthkit.runs import RunLog, RunRecord, RunRecorder, new_run_id, runs_dir
    from synthkit.state import SeqState
    from synthkit.ticks import interval_of, iso, recipe, tick_run

    if iterations < 0 or duration_seconds < 0 or every < 0:
        raise ConfigError(
            "--iterations, --duration-seconds and --every must be >= 0", hint="0 means unlimited"
        )
    plugins, opts = plugins_of(ctx), global_options(ctx)
    family, fleet = _fleet(ctx)
    block = getattr(fleet, "broker", None)
    request = BrokerRequest(url=broker_url, host=host, port=port, block=block)
    spec, endpoint = plugins.broker(request, sink, needed_by="live")
    where = endpoint.address
    ids = [d.device_id for d in fleet.devices]
    template = topic or getattr(block, "topic", None) or family.topic
    if not template:
        raise ConfigError(f"family {family.name!r} names no topic", hint="give --topic")
    with start_run(ctx, "live") as run, SeqState.held(opts.state_file) as state:
        first = [state.next_seq(d) for d in ids]
        interval = interval_of(family, fleet)
        origin_s = int(time.time()) // interval * interval
        ticker = tick_run(family, fleet, first, origin_s)
        target = BrokerTarget(
            endpoint,
            clients=ids,
            topic=template,
            qos=qos,
            client_column=family.stream_column,
            payloads=family.payloads() if family.payloads is not None else None,
        )
        plan = RunPlan(
            "live",
            seed=fleet.seed,
            streams=tuple(ids),
            rows=len(ids) * iterations or None,
            live=True,
        )
        publisher = run.open_sink(spec, target, sink_option or (), plan)
        record = RunRecord(
            run_id=new_run_id("live"),
            command="live",
            family=family.name,
            streams={},
            seed=fleet.seed,
            scenario_id=fleet.scenario_id,
            scenario_sha256=fleet.sha256,
            window_start=iso(origin_s),
            live=True,
            sink=spec.name,
            target=where,
            topic=template,
            recipe=recipe(fleet, origin_s),
        )
        recorder = RunRecorder(RunLog(runs_dir(opts.state_file)), run.recorded(record), ids, first)
        last = np.array(first) + iterations - 1 if iterations else None
        columns = (family.stream_column, family.seq_column)
        reservation = Reservation(state, ids, np.ones(len(ids)), last, recorder, columns=columns)

        def tick(k: int) -> Any:  # reserved before the broker has them
            batch = ticker.batch(k, 1)
            reservation.reserve_batch(batch)
            reservation.taken_batch(batch)
            return batch

        ticks = range(iterations) if iterations else itertools.count()
        with (
            stop_on_signals() as stop,
            progress_bar(f"live -> {where}", len(ids) * iterations or None) as bar,
        ):
            publisher.open(ticker.columns)  # every device connects, or the run fails here
            status = "failed"
            try:
                interrupted = paced(
                    ((k * every, k) for k in ticks),
                    tick,
                    publisher.write,
                    stop=stop,
                    duration_s=duration_seconds,
                    on_batch=bar.advance,
                )
                status = "interrupted" if interrupted else "finished"
                publisher.close()  # on a failure, the run aborts it
            finally:
                reservation.settle(status)
        totals = publisher.sink.summary()
        run.finish(
            {
                "command": "live",
                "family": family.name,
                "scenario_id": fleet.scenario_id,
                "run_id": recorder.record.run_id,
                "broker": where,
                "devices": len(ids),
                "interrupted": interrupted,
                **{k: v for k, v in totals.items() if k != "warnings"},
            },
            list(totals.get("warnings", [])),
        )
