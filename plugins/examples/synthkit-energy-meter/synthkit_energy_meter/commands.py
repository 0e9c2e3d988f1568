"""``synthkit --scenario meters.yaml meter export --out readings.csv`` and ``meter run``.

Both hold the state file for the whole command, as every writer does, so two commands never
hand out the same seq; ``export`` advances it only once the file is whole, ``run`` before a
round of readings reaches the broker (an interrupted run leaves a gap, never a reused seq).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from synthkit.api import (
    BrokerTarget,
    ConfigError,
    FileTarget,
    Reservation,
    RunLog,
    RunPlan,
    RunRecorder,
    SeqState,
    SinkOptionFlag,
    deliver,
    global_options,
    paced,
    parse_sink_options,
    parse_utc,
    plugins_of,
    progress_bar,
    resolve_broker,
    run_checks,
    runs_dir,
    start_run,
    stop_on_signals,
    tls_context,
)
from synthkit_energy_meter.family import DEFAULT_TOPIC
from synthkit_energy_meter.fleet import MeterRun
from synthkit_energy_meter.replay import run_record
from synthkit_energy_meter.scenario import LoadedMeters, load_meters

app = typer.Typer(add_completion=False, help="Smart electricity meter fleets.")


def _load(ctx: typer.Context) -> LoadedMeters:
    return load_meters(str(global_options(ctx).require_scenario()), plugins_of(ctx))


@app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Output file; its extension picks the sink (.csv, .jsonl, ...)."
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "--sink", help="A file sink by name, whatever the extension."),
    ] = None,
    end_at: Annotated[
        str | None, typer.Option("--end-at", help="UTC end of the window (default: now).")
    ] = None,
    sink_option: SinkOptionFlag = None,
) -> None:
    """Write the scenario's window (energy_meter.days back from --end-at) to a file sink."""
    plugins, opts = plugins_of(ctx), global_options(ctx)
    loaded = _load(ctx)
    spec = plugins.file_sink(out, fmt)
    options = parse_sink_options(spec, sink_option or ())
    run_checks(plugins, "output", out)
    section = loaded.scenario.energy_meter
    interval = section.interval_minutes * 60
    end_s = int(parse_utc(end_at or "now", "--end-at").timestamp()) // interval * interval
    intervals = section.days * 86_400 // interval
    ids = [m.device_id for m in loaded.meters]
    with start_run(ctx, "meter export") as run, SeqState.held(opts.state_file) as state:
        first = [state.next_seq(m) for m in ids]
        meters = MeterRun(loaded, first, end_s - (intervals - 1) * interval)
        plan = RunPlan(
            "meter export", seed=loaded.scenario.seed, streams=tuple(ids), rows=intervals * len(ids)
        )
        sink = run.open_sink(spec, FileTarget(out), options, plan)
        with progress_bar(f"meter -> {out.name}", intervals * len(ids)) as bar:
            report = deliver(meters.batches(0, intervals), sink, meters.columns, bar.advance)
        for meter, seq in zip(ids, first):  # the file is whole: its seqs are spent
            state.advance(meter, seq + intervals - 1)
        state.save()
        run.finish(
            {
                "command": "meter export",
                "scenario_id": loaded.scenario.scenario_id,
                "format": spec.name,
                "out": str(out),
                "meters": len(ids),
                "rows": report.records,
                "bytes": report.bytes,
                "columns": list(sink.columns),
            },
            [],
        )


@app.command("run")
def run(
    ctx: typer.Context,
    iterations: Annotated[
        int, typer.Option("--iterations", min=0, help="Readings per meter (0: until stopped).")
    ] = 0,
    duration_seconds: Annotated[
        float, typer.Option("--duration-seconds", help="Stop after this long (0: no limit).")
    ] = 0.0,
    every: Annotated[
        float, typer.Option("--every", help="Wall-clock seconds between rounds of readings.")
    ] = 1.0,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Broker host (default: scenario mqtt.host, $SYNTHKIT_MQTT_HOST, 127.0.0.1).",
        ),
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Broker port.")] = None,
    topic: Annotated[
        str | None,
        typer.Option(
            "--topic", help=f"Topic template (default: scenario mqtt.topic, {DEFAULT_TOPIC})."
        ),
    ] = None,
    qos: Annotated[int, typer.Option("--qos", help="MQTT QoS, 0 or 1.")] = 1,
    sink: Annotated[str, typer.Option("--sink", help="A broker sink.")] = "mqtt",
    sink_option: SinkOptionFlag = None,
) -> None:
    """Publish live readings, one MQTT connection per meter (client_id = meter_id)."""
    if iterations < 0 or duration_seconds < 0 or every < 0:
        raise ConfigError(
            "--iterations, --duration-seconds and --every must be >= 0", hint="0 means unlimited"
        )
    plugins, opts = plugins_of(ctx), global_options(ctx)
    loaded = _load(ctx)
    broker = resolve_broker(loaded.scenario.mqtt, host=host, port=port)
    tls = tls_context(broker)
    spec = plugins.sink(
        sink, "broker", needed_by="meter run", fix="install (or enable) synthkit's mqtt sink plugin"
    )
    ids = [m.device_id for m in loaded.meters]
    interval = loaded.scenario.energy_meter.interval_minutes * 60
    template = topic or loaded.scenario.mqtt.topic or DEFAULT_TOPIC
    live = start_run(ctx, "meter run", plugins)
    with live, SeqState.held(opts.state_file) as state, stop_on_signals() as stop:
        first = [state.next_seq(m) for m in ids]
        origin_s = int(time.time()) // interval * interval
        meters = MeterRun(loaded, first, origin_s)
        target = BrokerTarget(
            broker.address,
            clients=ids,
            topic=template,
            qos=qos,
            tls=tls,
            client_column="meter_id",
        )
        plan = RunPlan(
            "meter run",
            seed=loaded.scenario.seed,
            streams=tuple(ids),
            rows=len(ids) * iterations or None,
            live=True,
        )
        publisher = live.open_sink(spec, target, sink_option or (), plan)
        # the run's record (reconcile, replay) and its seqs, reserved before the broker has
        # them: the core's bookkeeping, told the family's stream and seq columns
        record = run_record(loaded, origin_s, sink=spec.name, target=broker.address, topic=template)
        recorder = RunRecorder(RunLog(runs_dir(opts.state_file)), live.recorded(record), ids, first)
        last = np.array(first) + iterations - 1 if iterations else None
        reservation = Reservation(
            state, ids, np.ones(len(ids)), last, recorder, columns=("meter_id", "seq")
        )

        def reading(k: int):  # returns a Batch
            batch = meters.batch(k, 1)
            reservation.reserve_batch(batch)
            reservation.taken_batch(batch)
            return batch

        rounds = range(iterations) if iterations else itertools.count()
        with progress_bar(f"meter run -> {broker.address}", len(ids) * iterations or None) as bar:
            publisher.open(meters.columns)  # every meter connects, or the run fails here
            status = "failed"
            try:
                interrupted = paced(
                    ((k * every, k) for k in rounds),
                    reading,
                    publisher.write,
                    stop=stop,
                    duration_s=duration_seconds,
                    on_batch=bar.advance,
                )
                status = "interrupted" if interrupted else "finished"
                report = publisher.close()  # on a failure, the run aborts it
            finally:
                reservation.settle(status)
        counts = dict(report.outcomes)
        unacked = counts.get("emitted", 0) - counts.get("acknowledged", 0)
        problems = [f"{unacked} reading(s) were not acknowledged by the broker"] if unacked else []
        live.finish(
            {
                "command": "meter run",
                "scenario_id": loaded.scenario.scenario_id,
                "broker": broker.address,
                "meters": len(ids),
                "run_id": recorder.record.run_id,
                "interrupted": interrupted,
                **counts,
            },
            problems,
        )
