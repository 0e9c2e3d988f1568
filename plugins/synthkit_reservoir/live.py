"""``run``: live telemetry to an MQTT broker (sections 4.6 and 5), one connection per device.

Each device publishes at its ``cadence_seconds`` divided by the scenario's ``speedup_factor``;
the simulated clock starts at the command's start (or ``--start-at``) and runs
``speedup_factor`` times faster than the wall clock. Seqs are reserved in the state file before they are handed to the
broker connection (ahead by about a second of publishing, so the file is not rewritten for
every message), so a crash or kill leaves a gap and never a reused seq. Ctrl+C or SIGTERM
stops generation; the run then waits (bounded) for outstanding acknowledgements, gives back
the seqs reserved but never handed out, saves the state and prints the summary.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from synthkit.api import (
    Batch,
    ConfigError,
    Endpoint,
    Pace,
    Reservation,
    Run,
    RunPlan,
    SeqState,
    SinkSpec,
    paced,
    per_second,
    progress_bar,
    stop_on_signals,
)
from synthkit_reservoir.engine import FleetRun, Window
from synthkit_reservoir.export import iso
from synthkit_reservoir.live_store import checked_store, delivery_report
from synthkit_reservoir.payload import mqtt_payloads
from synthkit_reservoir.rows import RowBuilder

_HORIZON_S = 10 * 365 * 86_400  # an unlimited run's window end; generation is lazy
GROUP_ROWS = 4096  # at most about this many rows per batch when ticks are due together (behind)


def live_run(
    run: Run,
    loaded: Any,
    *,
    spec: SinkSpec,
    endpoint: Endpoint,
    state_file: Path,
    iterations: int = 0,
    duration_s: float = 0.0,
    topic: str,
    qos: int = 1,
    drain_timeout_s: float = 30.0,
    sink_options: list[str] | None = None,
    stored_url: str | None = None,
    settle_timeout_s: float = 10.0,
    start_s: int | None = None,
) -> dict[str, Any]:
    from synthkit.api import (
        BrokerTarget,
        RunLog,
        RunRecorder,
        runs_dir,
        store_identity,
    )
    from synthkit_reservoir.replay import base_record

    if iterations < 0 or duration_s < 0:
        raise ConfigError(
            "--iterations and --duration-seconds must be >= 0", hint="0 means unlimited"
        )
    plugins = run.plugins
    devices = loaded.devices
    ids = [d.device_id for d in devices]
    steps = np.array([d.cadence_seconds for d in devices], np.int64)
    speedup = float(loaded.scenario.speedup_factor)
    where = endpoint.address
    with SeqState.held(
        state_file, shard=loaded.shard
    ) as state:  # one run at a time on this state file
        first = np.array([state.next_seq(d) for d in ids], np.int64)
        listener = checked_store(plugins, state, ids, stored_url, spec, endpoint, topic, state_file)
        if start_s is None:
            start_s = int(time.time())
        # a run longer than the horizon is unlimited in practice (and its end past year 9999)
        end_s = start_s + min(
            int(steps.max()) * (iterations - 1) if iterations else _HORIZON_S, _HORIZON_S
        )
        fleet = FleetRun(loaded, devices, steps.tolist(), Window(start_s, end_s), first.tolist())
        builder = RowBuilder(fleet)
        target = BrokerTarget(
            endpoint,
            clients=ids,
            topic=topic,
            payloads=mqtt_payloads(),
            qos=qos,
            drain_timeout_s=drain_timeout_s,
        )
        plan = RunPlan(
            "run",
            seed=loaded.seed,
            streams=tuple(ids),
            rows=len(ids) * iterations or None,
            live=True,
            window=(iso(start_s), iso(end_s)) if iterations else None,
            extra={"window_start": iso(start_s)},  # a run without an end: faults' anchor
            faults=loaded.faults,
        )
        sink = run.open_sink(spec, target, sink_options or (), plan)
        ahead = np.ceil(speedup / steps).astype(np.int64)  # ~1 s of messages per device per save
        ceiling = (
            first + iterations - 1 if iterations else None
        )  # never reserve past the last message
        record = base_record(
            "run",
            loaded,
            start_s,
            steps.tolist(),
            sink=spec.name,
            target=where,
            live=True,
            topic=topic,
            store=store_identity(stored_url) if stored_url else "",
        )
        recorder = RunRecorder(
            RunLog(runs_dir(state_file)), run.recorded(record), ids, first.tolist()
        )
        reservation = Reservation(state, ids, ahead, ceiling, recorder)
        total = _expected(len(ids), iterations, duration_s, speedup, steps)
        pace = Pace()
        with stop_on_signals() as stop, progress_bar(f"run -> {where}", total) as bar:
            sink.open(builder.columns)  # connects every device, or fails before the first publish
            t0 = time.monotonic()

            def schedule() -> Iterator[tuple[float, int]]:
                for tick in range(fleet.last_tick + 1):
                    yield tick * fleet.tick_s / speedup, tick

            def produce(ticks: list[int]) -> Batch:
                # the ticks due now: one when on time, many when behind (one block: its cost
                # is per block, not per tick)
                block = fleet.block(ticks[0], len(ticks))
                keep = (
                    block.seq < first[block.device] + iterations if iterations else None
                )  # fast devices stop
                batch, dev, seq = builder.batch(block), block.device, block.seq
                if keep is not None and not keep.all():
                    rows = np.flatnonzero(keep)
                    batch = Batch([c.take(rows) for c in batch.columns])
                    dev, seq = dev[rows], seq[rows]
                reservation.hand(dev, seq)  # reserved before the broker has them
                return batch

            status = "failed"
            try:
                interrupted = paced(
                    schedule(),
                    produce,
                    sink.write,
                    stop=stop,
                    duration_s=duration_s,
                    on_batch=bar.advance,
                    group=max(1, GROUP_ROWS // len(ids)),
                    pace=pace,
                )
                status = "interrupted" if interrupted else "finished"
                if pace.fell_behind:  # behind at the deadline: the record says so too
                    recorder.record = replace(
                        recorder.record, unsent_schedule_s=round(pace.unsent_s, 3)
                    )
            except BaseException:
                sink.abort()  # a failure aborts: the sink's own rules say what is kept
                raise
            else:
                sink.close()
            finally:
                reservation.settle(status)  # a clean stop gives back what was reserved ahead
        elapsed = time.monotonic() - t0
        totals = sink.sink.summary()
        delivery = delivery_report(plugins, recorder.record, totals, stored_url, settle_timeout_s)
        if "warning" in listener:
            delivery["warnings"].append(listener.pop("warning"))
        delivery.update(listener)
        if pace.fell_behind:
            totals["warnings"].append(
                f"the run fell behind its schedule (speedup {speedup:g}): at the --duration-seconds deadline "
                f"{pace.unsent_s:.3f} s of due messages ({pace.unsent_s * speedup:.0f} simulated seconds) were "
                "not sent; lower speedup_factor or the fleet size"
            )
        head = {
            "command": "run",
            "run_id": recorder.record.run_id,
            "scenario_id": loaded.scenario_id,
            "broker": where,
            "tls": endpoint.tls,
            "qos": qos,
            "speedup_factor": speedup,
            "interrupted": interrupted,
        }
        return _summary(
            head, totals, delivery, sink.sink.per_client(), spec, state_file, elapsed, pace
        )


def _expected(
    devices: int, iterations: int, duration_s: float, speedup: float, steps: np.ndarray
) -> int | None:
    """The messages the progress bar fills to (None: an unlimited run, a count)."""
    total = devices * iterations if iterations else None
    if duration_s:  # what is due within the duration (ticks at 0, step/speedup, ...)
        due = int(np.sum(np.floor(duration_s * speedup / steps) + 1))
        total = min(total, due) if total else due
    return total


def _summary(
    head: dict[str, Any],
    totals: dict[str, Any],
    delivery: dict[str, Any],
    per_client: dict[str, Any],
    spec: SinkSpec,
    state_file: Path,
    elapsed: float,
    pace: Pace,
) -> dict[str, Any]:
    """The run's JSON summary, in the order it has always had."""
    return {
        **head,
        **totals,
        "delivery": delivery,
        "warnings": totals["warnings"] + delivery.pop("warnings"),
        "devices": per_client,
        "sink": spec.name,
        "state_file": str(state_file),
        "elapsed_seconds": round(elapsed, 3),
        "messages_per_second": per_second(totals["emitted"], elapsed),
        "behind_schedule": {
            "late_seconds_max": round(pace.late_s, 3),
            "unsent_schedule_seconds": round(pace.unsent_s, 3),
        },
    }
