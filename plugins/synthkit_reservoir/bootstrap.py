"""bootstrap: the scenario's history straight into the ingestion database, through an
ingestion sink (the reference database's ``reference_db`` unless ``--sink`` names a team's
own), then optionally the analytics drain and place clustering."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.exc import DBAPIError, OperationalError

from synthkit.api import (
    Batch,
    PreflightReport,
    Reservation,
    Run,
    RunLog,
    RunPlan,
    RunRecorder,
    SeqState,
    SinkReport,
    deliver,
    delivery_problems,
    progress_bar,
    redact,
    runs_dir,
    store_identity,
)
from synthkit_reservoir.database.engines import describe_db_error, make_engine
from synthkit_reservoir.engine import FleetRun, export_window
from synthkit_reservoir.export import iso
from synthkit_reservoir.ingestion import (
    RESERVE_ROWS,
    block_rows,
    check_batch_sizes,
    ingestion_sink,
    split_outcomes,
)
from synthkit_reservoir.preflight_db import db_preflight
from synthkit_reservoir.replay import base_record
from synthkit_reservoir.rows import RowBuilder
from synthkit_reservoir.scenario import LoadedScenario


def bootstrap(
    run: Run,
    loaded: LoadedScenario,
    url: str,
    *,
    now: datetime,
    commit_rows: int,
    sink_name: str | None,
    state_file: Path,
    strict: bool = False,
    drain: int = 0,
    sink_options: list[str] | None = None,
    out: str | None = None,
    cluster: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """The ``bootstrap.days`` before ``now``, straight into the ingestion sink; then, with
    ``cluster``, the trucks' stops clustered into places (:mod:`...database.places`).

    Order matters: the state file is held, the preflight runs and the sink opens (which
    refuses a schema that cannot dedupe) before any seq is reserved. Seqs are reserved
    (a stride ahead) just before the sink is handed their rows, and on a failure or
    interrupt the state is settled to exactly what the sink took: a run that is refused, or
    whose sink fails on its first batch, leaves the state file as it was."""
    check_batch_sizes(commit_rows, drain or None)  # drain 0: none asked for
    end_s = int(now.timestamp())
    window, steps = export_window(loaded, end_s)
    with SeqState.held(state_file, shard=loaded.shard) as state:
        report = _preflight(run, loaded, url, out, strict)
        first = [state.next_seq(d.device_id) for d in loaded.devices]
        fleet = FleetRun(loaded, loaded.devices, steps, window, first)
        plan = RunPlan(
            "bootstrap",
            seed=loaded.seed,
            window=(iso(window.start_s), iso(window.end_s)),
            streams=tuple(d.device_id for d in loaded.devices),
            rows=fleet.total_rows(),
            faults=loaded.faults,
        )
        sink = ingestion_sink(
            run,
            sink_name,
            out or url,
            apply=True,
            commit_rows=commit_rows,
            drain=drain,
            needed_by="bootstrap",
            options=sink_options,
            plan=plan,
        )
        builder = RowBuilder(fleet)
        last = np.array([f + window.points(step) - 1 for step, f in zip(steps, first)], np.int64)
        stride = max(1, RESERVE_ROWS // max(1, len(loaded.devices)))  # seqs per device per save
        ids = [d.device_id for d in loaded.devices]
        record = base_record(
            "bootstrap",
            loaded,
            window.start_s,
            steps,
            sink=sink.plan.sink,
            target=redact(out or url),
            store=store_identity(out or url),
        )
        recorder = RunRecorder(RunLog(runs_dir(state_file)), run.recorded(record), ids, first)
        reservation = Reservation(state, ids, np.full(len(first), stride), last, recorder)
        batches = _rechunk((builder.batch(b) for b in fleet.blocks()), block_rows(commit_rows))
        started = time.perf_counter()
        with progress_bar("bootstrap", fleet.total_rows()) as bar:
            status = "failed"
            try:
                delivered = deliver(
                    batches,
                    sink,
                    builder.columns,
                    bar.advance,
                    before_write=reservation.reserve_batch,
                    after_write=reservation.taken_batch,
                )
                status = "finished"
            except (OperationalError, DBAPIError) as exc:
                raise describe_db_error(url, exc) from None
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            finally:
                reservation.settle(status)  # what the sink took, and nothing more
    counts, analytics, timing = split_outcomes(delivered, time.perf_counter() - started)
    places = _places(loaded, url, out) if cluster else None
    problems = _problems(report, delivered, counts, state_file, sink.meant["repeated"])
    return {
        "command": "bootstrap",
        "run_id": record.run_id,
        "scenario_id": loaded.scenario_id,
        "database": redact(out or url),
        "window": {"start_at": iso(window.start_s), "end_at": iso(window.end_s)},
        "devices": len(loaded.devices),
        "total_emitted": delivered.records,
        "status_counts": counts,
        **({"analytics": analytics} if analytics else {}),
        **({"places": places} if places else {}),
        "preflight_errors": report.errors,
        "warnings": report.warnings,
        "commit_batch_size": commit_rows,
        "state_file": str(state_file),
        **timing,
    }, problems


def _preflight(
    run: Run, loaded: LoadedScenario, url: str, out: str | None, strict: bool
) -> PreflightReport:
    """The database preflight checks the reference database: not an endpoint given by --out."""
    if out is None:
        return db_preflight(run.plugins, loaded, url, strict=strict)
    skipped = f"database checks skipped: delivering to {redact(out)}, not to a database"
    return PreflightReport(None, warnings=[skipped])


def _problems(
    report: PreflightReport,
    delivered: SinkReport,
    counts: dict[str, int],
    state_file: Path,
    meant_repeats: int = 0,
) -> list[str]:
    """What makes the bootstrap incomplete (exit 3): duplicates beyond what the scenario's
    faults repeated on purpose mean the state file is behind the database."""
    problems = [f"preflight error (not --strict): {e}" for e in report.errors]
    problems += delivery_problems(delivered.outcomes, delivered.details)
    stored_twice = sum(v for k, v in counts.items() if k.startswith("duplicate:"))
    duplicates = max(0, stored_twice - meant_repeats)
    if duplicates:
        problems.append(
            f"{duplicates} row(s) were not stored: the database already holds those (device, seq) "
            f"pairs, so the state file {state_file} is behind the database (lost, reset or "
            "copied?); restore it, or start from the database's highest seq per device"
        )
    return problems


def _places(loaded: LoadedScenario, url: str, out: str | None) -> dict[str, Any]:
    """Place clustering over what the database holds of the scenario's trucks."""
    if out is not None:
        return {"skipped": f"delivering to {redact(out)}, not to a database"}
    from synthkit_reservoir.database.places import cluster_places

    trucks = [(d.device_id, d.route) for d in loaded.devices if d.route is not None]
    routes = {device_id: route.route_id for device_id, route in trucks}
    points = {
        route.route_id: [(p.point_id, p.kind, p.latitude, p.longitude) for p in route.points]
        for _, route in trucks
    }
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        summary = cluster_places(engine, routes, points)
    except (OperationalError, DBAPIError) as exc:
        raise describe_db_error(url, exc) from None
    finally:
        engine.dispose()
    return {**summary, "seconds": round(time.perf_counter() - started, 3)}


def _rechunk(batches: Iterator[Batch], rows: int) -> Iterator[Batch]:
    """Batches of at most ``rows``."""
    for batch in batches:
        for start in range(0, batch.n, rows):
            yield batch.slice(start, start + rows) if batch.n > rows else batch
