"""``synthkit telematics publish``: the event stream to an MQTT broker through the ``mqtt`` sink,
one connection per driver (client_id = driver id), each event on the driver's topic.

Events come in rounds (one event per driver, the same rows `generate` writes for the same
seed); a round is published every ``--interval`` seconds (0: as fast as the broker takes
them). A message's payload is the event's JSON line. Ctrl+C or SIGTERM stops between rounds,
waits (bounded) for outstanding acknowledgements and prints the summary.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from pathlib import Path
from typing import Any

from synthkit.api import (
    BrokerRequest,
    ConfigError,
    Pace,
    Run,
    RunPlan,
    Shard,
    paced,
    per_second,
    progress_bar,
    stop_on_signals,
)
from synthkit_telematics.clock import check_clock, clocked, feed_stamps, id_salt, now_ms
from synthkit_telematics.config import TelematicsConfig
from synthkit_telematics.fleet_shard import fleet_of
from synthkit_telematics.generator import TelematicsGenerator
from synthkit_telematics.loop import Recorded, first_seqs, recipe
from synthkit_telematics.run import fault_plan

DEFAULT_TOPIC = "telematics/{driver_id}/events"


def publish_mqtt(
    run: Run,
    config: TelematicsConfig,
    *,
    broker: BrokerRequest,
    events: int = 0,
    duration_s: float = 0.0,
    interval_s: float = 1.0,
    topic: str = DEFAULT_TOPIC,
    qos: int = 1,
    client_id_prefix: str = "",
    drain_timeout_s: float = 30.0,
    sink_name: str | None = None,
    sink_options: list[str] | None = None,
    state_file: Path | None = None,
    clock: str = "wall",
    options_file: Path | None = None,
    store: str = "",
    shard: Shard | None = None,
) -> dict[str, Any]:
    from synthkit.api import BrokerTarget

    if events < 0 or duration_s < 0 or interval_s < 0:
        raise ConfigError(
            "--events, --duration-seconds and --interval must be >= 0",
            hint="0 means unlimited (no pause for --interval)",
        )
    check_clock(clock)
    plugins = run.plugins
    # the broker sink's own rules resolve the broker: every certificate problem surfaces now
    spec, endpoint = plugins.broker(broker, sink_name, needed_by="telematics publish")
    where = endpoint.address
    with contextlib.ExitStack() as held:
        state, first = (
            held.enter_context(first_seqs(state_file, config.drivers, shard))
            if state_file is not None
            else (None, None)
        )
        salt = id_salt(clock)
        generator, drivers = _drivers(plugins, config, salt, first, shard)
        target = BrokerTarget(
            endpoint,
            clients=drivers,
            topic=topic,
            client_column="driver_id",
            qos=qos,
            client_id_prefix=client_id_prefix,
            drain_timeout_s=drain_timeout_s,
        )
        plan = RunPlan(
            "telematics publish",
            seed=config.seed,
            streams=tuple(drivers),
            rows=events or None,
            live=True,
            **fault_plan(generator),
        )
        sink = run.open_sink(spec, target, sink_options or (), plan)
        every_ms = round(interval_s * 1000)
        with (
            stop_on_signals() as stop,
            progress_bar(f"publish -> {where}", events or None) as bar,
        ):
            sink.open(generator.columns)  # connects every driver, or fails first
            started_ms = now_ms()
            loop = None
            if state is not None and state_file is not None:
                stamps = feed_stamps(clock, started_ms, every_ms, "round")
                loop = Recorded(
                    run, state, state_file, generator,
                    command="telematics publish", sink=spec.name, target=where,
                    recipe=recipe(generator, options_file, salt, stamps), planned=events or None,
                    live=True, topic=topic, store=store,
                )  # fmt: skip
            t0 = time.monotonic()
            pace = Pace()
            rounds = generator.batches(events or None, batch_rows=len(drivers))  # a round each
            status = "failed"

            def produce(number: int) -> Any:
                batch = next(rounds, None)
                due = started_ms + number * every_ms if every_ms else None
                return None if batch is None else clocked(batch, clock, started_ms, due)

            def write(batch: Any) -> None:
                if loop is not None:
                    loop.reserve(batch)
                sink.write(batch)
                if loop is not None:
                    loop.taken(batch)

            try:
                interrupted = paced(
                    ((number * interval_s, number) for number in itertools.count()),
                    produce,
                    write,
                    stop=stop,
                    duration_s=duration_s,
                    on_batch=bar.advance,
                    pace=pace,
                )
                status = "interrupted" if interrupted else "finished"
            except BaseException:
                sink.abort()  # a failure aborts: the sink's own rules say what is kept
                raise
            else:
                sink.close()
            finally:
                if loop is not None:
                    loop.settle(status)
    elapsed = time.monotonic() - t0
    head = {
        "command": "telematics publish",
        **({"run_id": loop.record.run_id} if loop is not None else {}),
        "broker": where,
        "sink": spec.name,
        "tls": endpoint.tls,
        "qos": qos,
        "topic": topic,
        "drivers": config.drivers,
        **({"shard": str(shard), "shard_drivers": len(drivers)} if shard is not None else {}),
        "seed": config.seed,
        "interrupted": interrupted,
    }
    return _summary(head, sink.sink, generator, pace, interval_s, elapsed)


def _drivers(
    plugins: Any, config: TelematicsConfig, salt: str, first: Any, shard: Shard | None
) -> tuple[TelematicsGenerator, list[str]]:
    """The generator of the drivers this publish drives (a shard's, or all), and their ids."""
    labels, fleet = fleet_of(config.drivers, shard)
    generator = TelematicsGenerator(
        config, plugins.event_types(), id_salt=salt, plugins=plugins, first_seq=first, fleet=fleet
    )
    return generator, labels if fleet is None else [labels[d] for d in fleet]


def _summary(
    head: dict[str, Any], sink: Any, generator: Any, pace: Pace, interval_s: float, elapsed: float
) -> dict[str, Any]:
    """The JSON summary: ``head``, the broker sink's totals (a warning when the rounds fell
    behind their schedule), the event types, each driver's connection, the rate."""
    totals = sink.summary()
    if interval_s > 0 and pace.fell_behind:  # --interval 0 asks for no schedule
        totals["warnings"].append(
            f"the publish fell behind its --interval {interval_s:g} schedule: at the "
            f"--duration-seconds deadline {pace.unsent_s:.3f} s of due rounds were not sent"
        )
    return {
        **head,
        **totals,
        "event_type_counts": generator.counts,
        "per_driver": sink.per_client(),
        "elapsed_seconds": round(elapsed, 3),
        "events_per_second": per_second(totals["emitted"], elapsed),
    }
