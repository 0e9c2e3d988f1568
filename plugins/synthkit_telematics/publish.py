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
from pathlib import Path
from typing import Any

import numpy as np

from synthkit.api import (
    BrokerRequest,
    ConfigError,
    Pace,
    Run,
    RunPlan,
    paced,
    per_second,
    progress_bar,
    stop_on_signals,
)
from synthkit_telematics.clock import check_clock, clocked, id_salt, now_ms
from synthkit_telematics.config import TelematicsConfig
from synthkit_telematics.generator import TelematicsGenerator
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
    generator = TelematicsGenerator(
        config, plugins.event_types(), id_salt=id_salt(clock), plugins=plugins
    )
    drivers = generator.driver_labels
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
    taken = np.zeros(len(drivers), np.int64)  # events each driver's connection was handed

    def write(batch: Any) -> None:
        sink.write(batch)
        np.add.at(taken, batch.column("driver_id").values, 1)

    with (
        stop_on_signals() as stop,
        progress_bar(f"publish -> {where}", events or None) as bar,
    ):
        sink.open(generator.columns)  # connects every driver, or fails before the first publish
        recorder = _recorder(run, state_file, config, generator, spec.name, where, topic, events)
        t0 = time.monotonic()
        pace = Pace()
        rounds = generator.batches(events or None, batch_rows=config.drivers)  # a round per batch
        status = "failed"
        try:
            schedule = ((number * interval_s, None) for number in itertools.count())
            started_ms = now_ms()

            def produce(_: None) -> Any:
                batch = next(rounds, None)
                return None if batch is None else clocked(batch, clock, started_ms)

            interrupted = paced(
                schedule,
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
            if recorder is not None:
                recorder.finished((taken - 1).tolist(), status)
    elapsed = time.monotonic() - t0
    totals = sink.sink.summary()
    if (
        interval_s > 0 and pace.fell_behind
    ):  # --interval 0 asks for no schedule: nothing to fall behind
        totals["warnings"].append(
            f"the publish fell behind its --interval {interval_s:g} schedule: at the "
            f"--duration-seconds deadline {pace.unsent_s:.3f} s of due rounds were not sent"
        )
    return {
        "command": "telematics publish",
        **({"run_id": recorder.record.run_id} if recorder is not None else {}),
        "broker": where,
        "sink": spec.name,
        "tls": endpoint.tls,
        "qos": qos,
        "topic": topic,
        "drivers": config.drivers,
        "seed": config.seed,
        "interrupted": interrupted,
        **totals,
        "event_type_counts": generator.counts,
        "per_driver": sink.sink.per_client(),
        "elapsed_seconds": round(elapsed, 3),
        "events_per_second": per_second(totals["emitted"], elapsed),
    }


def _recorder(
    run: Run,
    state_file: Path | None,
    config: Any,
    generator: Any,
    sink: str,
    target: str,
    topic: str,
    events: int,
) -> Any:
    """The run record of a publish: per driver, the events handed to its connection, counted
    from 0 (a driver's n-th event is round n). Its payloads carry no seq, so a store reconciles
    against it by (driver_id, event index) pairs. With --events, the record written at the start
    already covers every planned event (a killed publish never says less than it sent)."""
    if state_file is None:
        return None
    from synthkit.api import RunLog, RunRecord, RunRecorder, new_run_id, runs_dir

    drivers = generator.driver_labels
    record = RunRecord(
        run_id=new_run_id("telematics publish"),
        command="telematics publish",
        family="telematics",
        streams={},
        seed=config.seed,
        live=True,
        sink=sink,
        target=target,
        topic=topic,
        recipe={
            "config": config.model_dump(mode="json"),
            "event_types": generator.type_names,
            "seq": "each driver's event index, from 0",
        },
    )
    recorder = RunRecorder(
        RunLog(runs_dir(state_file)), run.recorded(record), drivers, [0] * len(drivers)
    )
    if events:
        per_round, rest = divmod(events, len(drivers))
        recorder.reserved([per_round - (0 if d < rest else 1) for d in range(len(drivers))])
    return recorder
