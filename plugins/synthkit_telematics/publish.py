"""``synthkit telematics publish``: the event stream to an MQTT broker through the ``mqtt`` sink,
one connection per driver (client_id = driver id), each event on the driver's topic.

Events come in rounds (one event per driver, the same rows `generate` writes for the same
seed); a round is published every ``--interval`` seconds (0: as fast as the broker takes
them). A message's payload is the event's JSON line. Ctrl+C or SIGTERM stops between rounds,
waits (bounded) for outstanding acknowledgements and prints the summary.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from synthkit.api import ConfigError, Plugins, RunPlan, paced, progress_bar, stop_on_signals
from synthkit_telematics.generator import TelematicsConfig, TelematicsGenerator

DEFAULT_TOPIC = "telematics/{driver_id}/events"


def publish_mqtt(
    plugins: Plugins, config: TelematicsConfig, *, broker: Any, events: int = 0, duration_s: float = 0.0,
    interval_s: float = 1.0, topic: str = DEFAULT_TOPIC, qos: int = 1, client_id_prefix: str = "",
    drain_timeout_s: float = 30.0, sink_name: str = "mqtt", sink_options: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    from synthkit.api import BrokerTarget, tls_context

    if events < 0 or duration_s < 0 or interval_s < 0:
        raise ConfigError("--events, --duration-seconds and --interval must be >= 0", hint="0 means unlimited (no pause for --interval)")
    tls = tls_context(broker)  # every certificate problem surfaces before any connection
    generator = TelematicsGenerator(config, plugins.event_types())
    drivers = generator.driver_labels
    spec = plugins.sink(sink_name, "broker", needed_by="telematics publish", fix="install (or enable) synthkit's mqtt sink plugin")
    target = BrokerTarget(broker.address, clients=drivers, topic=topic, client_column="driver_id", qos=qos,
                          tls=tls, client_id_prefix=client_id_prefix, drain_timeout_s=drain_timeout_s)  # fmt: skip
    plan = RunPlan("telematics publish", seed=config.seed, streams=tuple(drivers), rows=events or None, live=True)
    sink = plugins.open_sink(spec, target, sink_options or (), plan)
    with stop_on_signals() as stop, progress_bar(f"publish -> {broker.address}", events or None) as bar:
        sink.open(generator.columns)  # connects every driver, or fails before the first publish
        t0 = time.monotonic()
        rounds = generator.batches(events or None, batch_rows=config.drivers)  # a round per batch
        try:
            schedule = ((number * interval_s, None) for number in itertools.count())
            interrupted = paced(schedule, lambda _: next(rounds, None), sink.write, stop=stop,
                                duration_s=duration_s, on_batch=bar.advance)  # fmt: skip
        finally:
            sink.close()
    elapsed = time.monotonic() - t0
    totals = sink.summary()
    return {
        "command": "telematics publish",
        "broker": broker.address,
        "sink": spec.name,
        "tls": broker.tls,
        "qos": qos,
        "topic": topic,
        "drivers": config.drivers,
        "seed": config.seed,
        "interrupted": interrupted,
        **totals,
        "event_type_counts": generator.counts,
        "per_driver": sink.per_client(),
        "elapsed_seconds": round(elapsed, 3),
        "events_per_second": round(totals["emitted"] / elapsed) if elapsed > 0 else None,
    }
