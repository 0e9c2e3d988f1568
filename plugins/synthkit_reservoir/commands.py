"""``synthkit [--scenario X] [--state-file S] [--strict] validate | dry-run | export-csv``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from synthkit.api import (
    BrokerFlag,
    ConfigError,
    ExecutorFlag,
    SchedulerFlag,
    Shard,
    ShardFlag,
    ShardsFlag,
    SinkOptionFlag,
    SpreadExecutorFlag,
    SpreadFlag,
    WorkersFlag,
    emit_json,
    global_options,
    parse_utc,
    plugins_of,
    run_sharded,
    run_spread,
    start_run,
)

if TYPE_CHECKING:  # the scenario schema, the engine and its kernels load when a command runs
    from synthkit_reservoir.scenario import LoadedScenario

app = typer.Typer(add_completion=False)


def load(ctx: typer.Context) -> LoadedScenario:
    from synthkit_reservoir.scenario import load_scenario

    return load_scenario(str(global_options(ctx).require_scenario()), plugins_of(ctx))


@app.command(
    "export-csv",
    rich_help_panel="Simulate",
    epilog="Example: synthkit --scenario scenarios/stationary_only_v1.yaml export-csv --run-id jan_demo --end-at 2026-02-12T10:00:00Z",
)
def export_csv_command(
    ctx: typer.Context,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Artifact directory name.")] = None,
    end_at: Annotated[
        str | None, typer.Option("--end-at", help="UTC end of the window (default: now).")
    ] = None,
    output_root: Annotated[
        Path, typer.Option("--output-root", help="Where artifact directories go.")
    ] = Path("generated"),
    sink: Annotated[
        str,
        typer.Option(
            "--sink",
            help="The file sink that writes the rows (csv: telemetry_rows.csv, what analyze-csv and import-csv read; parquet, jsonl...).",
        ),
    ] = "csv",
    sink_option: SinkOptionFlag = None,
    shard: ShardFlag = None,
    shards: ShardsFlag = None,
    executor: ExecutorFlag = "inline",
    scheduler: SchedulerFlag = None,
    workers: WorkersFlag = None,
) -> None:
    """Write the historical window as telemetry_rows.csv + manifest.json (no database; --strict also checks one named by --db-url or SYNTHKIT_DB_URL)."""
    loaded = load(ctx)
    end = parse_utc(end_at or "now", "--end-at")
    if shards is not None:  # each shard is this command with --shard K/N, sealed as one dataset
        from synthkit_reservoir.export_part import planned_rows

        if end_at is None:
            raise ConfigError(
                "--shards needs --end-at: every shard must export the same window",
                hint="give --end-at 2026-02-12T10:00:00Z (or whatever 'now' is meant)",
            )
        if shard is not None:
            raise ConfigError("--shard and --shards are one or the other", hint="give one")
        total = planned_rows(loaded, end)
        return run_sharded(ctx, "export-csv", shards, executor, scheduler, workers, total)
    opts = global_options(ctx)
    if opts.strict:  # the seed: --strict runs the database preflight too, against a database named
        from synthkit_reservoir.preflight_db import db_preflight

        if opts.names_database():
            db_preflight(plugins_of(ctx), loaded, opts.database(), strict=True)
    from synthkit_reservoir.export import export_csv

    with start_run(ctx, "export-csv") as run:
        run.finish(
            export_csv(
                run,
                loaded,
                opts.state_file,
                end,
                run_id,
                output_root,
                sink,
                sink_option,
                shard=Shard.parse(shard),
            )  # fmt: skip
        )


@app.command(
    "analyze-csv",
    rich_help_panel="Simulate",
    epilog="Example: synthkit analyze-csv --artifact-dir generated/stationary_only_v1/jan_demo",
)
def analyze_csv_command(
    artifact_dir: Annotated[
        Path, typer.Option("--artifact-dir", help="An export-csv output directory.")
    ],
) -> None:
    """QC and profile an exported artifact; writes analysis.json beside it (no database).
    Exit 3 when QC fails (the summary's problems say where)."""
    from synthkit.api import IncompleteRun
    from synthkit_reservoir.analyze import analyze

    result = analyze(artifact_dir)
    emit_json(result)
    if not result["qc_passed"]:
        kinds = [
            k.removesuffix("_count").replace("_", " ")
            for k, v in result.items()
            if k.endswith("_count") and k not in ("row_count", "device_count") and v
        ]
        raise IncompleteRun(
            f"QC failed: {', '.join(kinds) or 'no rows'} in {artifact_dir}",
            hint="`problems` in the summary on stdout names the first lines of each kind",
        )


@app.command(
    "run",
    rich_help_panel="Live",
    epilog="Example: synthkit --scenario scenarios/demo_city_v1.yaml run --iterations 10 --db-url sqlite:///.tmp/synthkit.db",
)
def run_command(
    ctx: typer.Context,
    iterations: Annotated[
        int, typer.Option("--iterations", max=2**40, help="Messages per device (0: unlimited).")
    ] = 0,
    duration_seconds: Annotated[
        float,
        typer.Option(
            "--duration-seconds", help="Stop after this many wall seconds (0: unlimited)."
        ),
    ] = 0,
    broker_url: BrokerFlag = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Broker host (default: SYNTHKIT_MQTT_HOST, the scenario's mqtt.host, 127.0.0.1).",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            help="Broker port (default: SYNTHKIT_MQTT_PORT, the scenario's mqtt.port, 1883 without TLS).",
        ),
    ] = None,
    topic: Annotated[
        str | None,
        typer.Option(
            "--topic",
            help="Topic template; {device_id} is replaced (default: the scenario's mqtt.topic, else devices/{device_id}/telemetry).",
        ),
    ] = None,
    qos: Annotated[int, typer.Option("--qos", help="MQTT QoS 0, 1 or 2.")] = 1,
    drain_timeout: Annotated[
        float,
        typer.Option(
            "--drain-timeout", help="Seconds to wait for outstanding acknowledgements at the end."
        ),
    ] = 30.0,
    sink: Annotated[
        str | None,
        typer.Option(
            "--sink",
            help="The broker sink (default: the one the --broker URL's scheme picks, else mqtt; --sink-option protocol=5, retain=true, clean_session=false, session_expiry_s=N for mqtt).",
        ),
    ] = None,
    sink_option: SinkOptionFlag = None,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db-url",
            help="Where a listener stores what this run publishes: the summary then says how much was stored, not only acknowledged by the broker.",
        ),
    ] = None,
    settle_timeout: Annotated[
        float,
        typer.Option(
            "--settle-timeout",
            help="With --db-url: seconds to wait for the store to catch up after the run.",
        ),
    ] = 10.0,
    start_at: Annotated[
        str | None,
        typer.Option(
            "--start-at",
            help="The simulated clock's start (UTC; default: now): a window export-csv wrote, "
            "published again live, record for record.",
        ),
    ] = None,
    shard: ShardFlag = None,
    workers: SpreadFlag = None,
    executor: SpreadExecutorFlag = "processes",
    scheduler: SchedulerFlag = None,
) -> None:
    """Publish live telemetry to an MQTT broker, one connection per device (client_id = device_id)."""
    from synthkit.api import BrokerRequest
    from synthkit_reservoir.live import live_run

    if workers is not None:  # the fleet's shards side by side, one clock for them all
        from synthkit_reservoir.export_part import iso

        if shard is not None:
            raise ConfigError("--shard and --workers are one or the other", hint="give one")
        devices = len(load(ctx).devices)
        start = start_at or iso(int(time.time()))
        return run_spread(ctx, "run", workers, executor, scheduler,
                          devices * iterations or None, ("--start-at", start))  # fmt: skip
    loaded = load(ctx).sharded(Shard.parse(shard))
    opts = global_options(ctx)
    # the broker sink's own rules resolve the broker: every certificate problem surfaces now
    request = BrokerRequest(url=broker_url, host=host, port=port, block=loaded.scenario.mqtt)
    spec, endpoint = plugins_of(ctx).broker(request, sink, needed_by="run")
    stored_url = opts.database(db_url) if db_url or opts.db_url else None
    if opts.strict and stored_url is not None:  # the store it reports on is named: check it first
        from synthkit_reservoir.preflight_db import db_preflight

        db_preflight(plugins_of(ctx), loaded, stored_url, strict=True)
    with start_run(ctx, "run") as run:
        result = live_run(
            run,
            loaded,
            spec=spec,
            endpoint=endpoint,
            state_file=opts.state_file,
            iterations=iterations,
            duration_s=duration_seconds,
            qos=qos,
            drain_timeout_s=drain_timeout,
            topic=topic or loaded.scenario.mqtt.topic or "devices/{device_id}/telemetry",
            sink_options=sink_option,
            stored_url=stored_url,
            settle_timeout_s=settle_timeout,
            start_s=int(parse_utc(start_at, "--start-at").timestamp()) if start_at else None,
        )
        run.finish(result, result["warnings"])
