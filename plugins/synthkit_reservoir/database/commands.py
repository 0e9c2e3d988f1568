"""``synthkit db init | register``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthkit.api import (
    BrokerFlag,
    DbUrlFlag,
    SinkOptionFlag,
    emit_json,
    global_options,
    plugins_of,
    start_run,
)

# SQLAlchemy and the schema load inside the commands: the CLI registers these on every start

app = typer.Typer(add_completion=False, no_args_is_help=True)


@app.command("init", epilog="Example: synthkit db init --db-url sqlite:///.tmp/synthkit.db")
def init(ctx: typer.Context, db_url: DbUrlFlag = None) -> None:
    """Create the reference schema (idempotent)."""
    from synthkit.api import redact
    from synthkit_reservoir.database.engines import connected
    from synthkit_reservoir.database.register import init_schema

    url = global_options(ctx).database(db_url)
    with connected(url, create=True) as engine:
        result = init_schema(engine)
    emit_json({"command": "db init", "database": redact(url), **result})


@app.command(
    "register", epilog="Example: synthkit --scenario scenarios/demo_city_v1.yaml db register"
)
def register_command(ctx: typer.Context, db_url: DbUrlFlag = None) -> None:
    """Create and attach the scenario's devices and reservoirs (idempotent)."""
    from synthkit.api import redact
    from synthkit_reservoir.database.engines import connected
    from synthkit_reservoir.database.register import register
    from synthkit_reservoir.scenario import load_scenario

    opts = global_options(ctx)
    loaded = load_scenario(str(opts.require_scenario()), plugins_of(ctx))
    url = opts.database(db_url)
    with connected(url) as engine:
        result = register(engine, loaded)
    emit_json(
        {
            "command": "db register",
            "database": redact(url),
            "scenario_id": loaded.scenario_id,
            **result,
        }
    )


ingest_app = typer.Typer(add_completion=False, no_args_is_help=True)


@ingest_app.command(
    "listen", epilog="Example: synthkit ingest listen --duration-seconds 60 --reconcile-every 10"
)
def listen_command(
    ctx: typer.Context,
    db_url: DbUrlFlag = None,
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
            help="Broker port (default: SYNTHKIT_MQTT_PORT, the scenario's mqtt.port, 1883).",
        ),
    ] = None,
    topic: Annotated[
        str, typer.Option("--topic", help="Subscription; its '+' level is the device id.")
    ] = "devices/+/telemetry",
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            help="The listener's MQTT client id, i.e. its persistent session (default: synthkit-listener-<hash of the database and topic>, one per database).",
        ),
    ] = None,
    duration_seconds: Annotated[
        float,
        typer.Option("--duration-seconds", help="Stop after this many seconds (0: unlimited)."),
    ] = 0,
    count: Annotated[
        int, typer.Option("--count", min=0, help="Stop after this many messages (0: unlimited).")
    ] = 0,
    idle_timeout: Annotated[
        float,
        typer.Option(
            "--idle-timeout", help="Stop after this many seconds without a message (0: never)."
        ),
    ] = 0,
    sink: Annotated[
        str | None,
        typer.Option(
            "--sink",
            help="The ingest sink the messages go to (default: the sink of the family whose topic --topic is, else reference_db).",
        ),
    ] = None,
    sink_option: SinkOptionFlag = None,
    source_option: Annotated[
        list[str] | None,
        typer.Option(
            "--source-option",
            metavar="<key=value>",
            help="KEY=VALUE for the mqtt source (batch_messages, batch_wait_s, protocol=5, session_expiry_s).",
        ),
    ] = None,
    reconcile_every: Annotated[
        float,
        typer.Option(
            "--reconcile-every",
            help="Every N seconds, print the gap count against the run records of --state-file (0: only at the end).",
        ),
    ] = 0,
    ready_file: Annotated[
        Path | None,
        typer.Option(
            "--ready-file",
            help="Write this file once subscribed (removed at the end): a script waits for it before it publishes.",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Where messages come from (a plugin: mqtt, capture...; default: the one the --broker URL's scheme picks, else mqtt).",
        ),
    ] = None,
    broker: BrokerFlag = None,
) -> None:
    """Subscribe to live telemetry (or read captured traffic) and ingest it."""
    from synthkit.api import BrokerRequest, endpoint_of, redact, store_identity
    from synthkit_reservoir.database.engines import db_errors
    from synthkit_reservoir.database.listen import listen
    from synthkit_reservoir.database.presence import default_client_id

    opts = global_options(ctx)
    from synthkit_reservoir.scenario import load_scenario

    plugins = plugins_of(ctx)
    endpoint = None
    spec = plugins.broker_source(broker, source, needed_by="ingest listen")
    if spec.endpoint is not None or broker:  # a broker source: its rules, the scenario's block
        block = load_scenario(str(opts.scenario), plugins).scenario.mqtt if opts.scenario else None
        endpoint = endpoint_of(spec, BrokerRequest(url=broker, host=host, port=port, block=block))
    url = opts.database(db_url)
    sink = sink or plugins.sink_for_topic(topic) or "reference_db"
    plugins.sink(
        sink,
        "ingest",
        needed_by="ingest listen",
        fix="give --sink an ingest sink (see `synthkit plugins`)",
    )
    # the database is the sink's to open (or not): its error is one line naming it
    with start_run(ctx, "ingest listen", plugins) as run, db_errors(url):
        result, missing = listen(
            run,
            url,
            endpoint=endpoint,
            topic=topic,
            client_id=client_id or default_client_id(store_identity(url), topic),
            source_name=spec.name,
            duration_s=duration_seconds,
            count=count,
            idle_s=idle_timeout,
            sink_name=sink,
            sink_options=sink_option,
            source_options=source_option,
            state_file=opts.state_file,
            reconcile_every_s=reconcile_every,
            ready_file=ready_file,
        )
        rejected = result["rejects_stored"]
        run.finish(
            {
                **result,
                "database": redact(url),
                **({"broker": endpoint.address} if endpoint else {}),
            },
            (
                [f"{rejected} message(s) rejected: kept in telemetry_rejects with their reason"]
                if rejected
                else []
            )
            + missing,
        )
