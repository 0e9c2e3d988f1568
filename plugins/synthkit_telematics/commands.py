"""``synthkit telematics generate`` and ``synthkit telematics stream``."""

from __future__ import annotations

from typing import Annotated

import typer

from synthkit.api import (
    BrokerFlag,
    BrokerSinkFlag,
    ExecutorFlag,
    SchedulerFlag,
    Shard,
    ShardFlag,
    ShardsFlag,
    SinkFlag,
    SinkOptionFlag,
    SpreadExecutorFlag,
    SpreadFlag,
    WorkersFlag,
    global_options,
    run_sharded,
    run_spread,
    start_run,
    stderr,
)
from synthkit_telematics.flags import (
    BaseLat,
    BaseLon,
    Clock,
    Drivers,
    Extreme,
    Mix,
    OptionsFile,
    Seed,
    StartNow,
    UtcOffset,
    Weight,
    WeightsFile,
)

app = typer.Typer(
    help="Telematics mock events: drivers, trips and driving events.", no_args_is_help=True
)


@app.command(
    epilog="Example: synthkit telematics generate --events 100000 --drivers 50 --out telemetry_events.jsonl"
)
def generate(
    ctx: typer.Context,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Output file (its ending picks the file sink: .jsonl, .csv, .parquet...), or an ingest sink's URL (http://...).",
        ),
    ] = None,
    events: Annotated[int, typer.Option("--events", help="Total events to write.")] = 1000,
    drivers: Drivers = 10,
    seed: Seed = 42,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="A file sink by name, whatever --out ends with (the same as --sink)."
        ),
    ] = None,
    sink: SinkFlag = None,
    sink_option: SinkOptionFlag = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start", help="Simulated start, ISO 8601 UTC or 'now' (default 2026-01-05T00:00:00Z)."
        ),
    ] = None,
    extreme_variance: Extreme = False,
    weight: Weight = None,
    weights_file: WeightsFile = None,
    mix: Mix = None,
    base_lat: BaseLat = None,
    base_lon: BaseLon = None,
    utc_offset: UtcOffset = None,
    options_file: OptionsFile = None,
    shard: ShardFlag = None,
    shards: ShardsFlag = None,
    executor: ExecutorFlag = "inline",
    scheduler: SchedulerFlag = None,
    workers: WorkersFlag = None,
) -> None:
    """Write a batch of events to a file (atomically) or an ingest sink, then a JSON summary on stdout."""
    from synthkit_telematics.options import config_from_flags, store_of

    if shards is not None:  # each shard is this command with --shard K/N: a dataset in --out
        from synthkit_telematics.parts import check_sharded

        check_sharded(out, shard)
        return run_sharded(ctx, "telematics generate", shards, executor, scheduler, workers, events)

    config = config_from_flags(
        drivers, seed, start, False, extreme_variance, weight,
        weights_file, base_lat, base_lon, utc_offset, mix, options_file,
    )  # fmt: skip
    from synthkit_telematics.run import generate_file

    with start_run(ctx, "telematics generate") as run:
        summary = generate_file(
            run,
            config,
            events,
            out,
            fmt,
            sink,
            sink_option,
            state_file=global_options(ctx).state_file,
            options_file=options_file,
            store=store_of(ctx),
            shard=Shard.parse(shard),
        )
        run.finish(summary, summary.pop("warnings"))


@app.command(epilog="Example: synthkit telematics stream --interval 0.5 --drivers 5")
def stream(
    ctx: typer.Context,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between events.")] = 0.5,
    drivers: Drivers = 10,
    seed: Seed = 42,
    start: StartNow = None,
    max_events: Annotated[
        int | None, typer.Option("--max-events", min=1, help="Stop after this many events.")
    ] = None,
    sink: Annotated[
        str,
        typer.Option("--sink", help="A stream sink (stdout) or an ingest sink (with --out URL)."),
    ] = "stdout",
    sink_option: SinkOptionFlag = None,
    out: Annotated[
        str | None, typer.Option("--out", help="Where an ingest sink delivers (its URL).")
    ] = None,
    extreme_variance: Extreme = False,
    weight: Weight = None,
    weights_file: WeightsFile = None,
    mix: Mix = None,
    base_lat: BaseLat = None,
    base_lon: BaseLon = None,
    utc_offset: UtcOffset = None,
    options_file: OptionsFile = None,
    clock: Clock = "wall",
) -> None:
    """Stream events to stdout as JSON lines (or to --sink) until Ctrl+C or SIGTERM (exit 0)."""
    from synthkit_telematics.options import config_from_flags, store_of

    config = config_from_flags(
        drivers, seed, start, True, extreme_variance, weight,
        weights_file, base_lat, base_lon, utc_offset, mix, options_file,
    )  # fmt: skip
    from synthkit_telematics.run import stream_stdout

    with start_run(ctx, "telematics stream") as run:
        count = stream_stdout(
            run,
            config,
            interval,
            max_events,
            sink,
            sink_option,
            out,
            clock,
            state_file=global_options(ctx).state_file,
            options_file=options_file,
            store=store_of(ctx),
        )
    stderr().print(f"streamed {count} events", highlight=False)


@app.command(
    epilog="Example: synthkit telematics publish --drivers 25 --interval 0.5 --duration-seconds 60"
)
def publish(
    ctx: typer.Context,
    events: Annotated[int, typer.Option("--events", help="Total events (0: until stopped).")] = 0,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            help="Seconds between rounds (one event per driver); 0: as fast as the broker takes them.",
        ),
    ] = 1.0,
    duration_seconds: Annotated[
        float,
        typer.Option("--duration-seconds", help="Stop after this many seconds (0: unlimited)."),
    ] = 0,
    drivers: Drivers = 10,
    seed: Seed = 42,
    start: StartNow = None,
    broker_url: BrokerFlag = None,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Broker host (default: SYNTHKIT_MQTT_HOST, else 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", help="Broker port (default: SYNTHKIT_MQTT_PORT, else 1883 without TLS)."
        ),
    ] = None,
    topic: Annotated[
        str, typer.Option("--topic", help="Topic template; {driver_id} is replaced.")
    ] = "telematics/{driver_id}/events",
    qos: Annotated[int, typer.Option("--qos", help="MQTT QoS 0, 1 or 2.")] = 1,
    client_id_prefix: Annotated[
        str,
        typer.Option(
            "--client-id-prefix", help="Prepended to each driver id to make its MQTT client id."
        ),
    ] = "",
    drain_timeout: Annotated[
        float,
        typer.Option(
            "--drain-timeout", help="Seconds to wait for outstanding acknowledgements at the end."
        ),
    ] = 30.0,
    sink: BrokerSinkFlag = None,
    sink_option: SinkOptionFlag = None,
    extreme_variance: Extreme = False,
    weight: Weight = None,
    weights_file: WeightsFile = None,
    mix: Mix = None,
    base_lat: BaseLat = None,
    base_lon: BaseLon = None,
    utc_offset: UtcOffset = None,
    options_file: OptionsFile = None,
    clock: Clock = "wall",
    shard: ShardFlag = None,
    workers: SpreadFlag = None,
    executor: SpreadExecutorFlag = "processes",
    scheduler: SchedulerFlag = None,
) -> None:
    """Publish events to an MQTT broker, one connection per driver, then a JSON summary."""
    from synthkit.api import BrokerRequest
    from synthkit_telematics.options import config_from_flags, store_of
    from synthkit_telematics.publish import publish_mqtt

    if workers is not None:  # the drivers' shards side by side, one simulated start for all
        from synthkit_telematics.parts import spread_start

        pinned = spread_start(shard, start)
        return run_spread(ctx, "telematics publish", workers, executor, scheduler, events, pinned)
    config = config_from_flags(
        drivers, seed, start, True, extreme_variance, weight,
        weights_file, base_lat, base_lon, utc_offset, mix, options_file,
    )  # fmt: skip
    with start_run(ctx, "telematics publish") as run:
        result = publish_mqtt(
            run,
            config,
            broker=BrokerRequest(url=broker_url, host=host, port=port),
            events=events,
            duration_s=duration_seconds,
            interval_s=interval,
            topic=topic,
            qos=qos,
            client_id_prefix=client_id_prefix,
            drain_timeout_s=drain_timeout,
            sink_name=sink,
            sink_options=sink_option,
            state_file=global_options(ctx).state_file,
            clock=clock,
            options_file=options_file,
            store=store_of(ctx),
            shard=Shard.parse(shard),
        )
        run.finish(result, result["warnings"])


def _register() -> None:
    from synthkit_telematics import features_command, serve_command

    app.command(epilog=serve_command.EXAMPLE)(serve_command.serve)
    app.command(epilog=features_command.EXAMPLE)(features_command.features)


_register()
