"""import-csv, and what it shares with bootstrap (bootstrap.py): history into the ingestion
database through an ingestion sink (the reference database's ``reference_db`` unless
``--sink`` names a team's own)."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from synthkit.api import (
    AtomicFile,
    ConfigError,
    Delivery,
    IngestSink,
    IngestTarget,
    Run,
    RunLog,
    RunPlan,
    RunRecord,
    SeqState,
    SinkReport,
    StreamRange,
    deliver,
    delivery_problems,
    new_run_id,
    per_second,
    progress_bar,
    redact,
    runs_dir,
    store_identity,
)
from synthkit_reservoir.artifacts import Artifact, artifact_parts
from synthkit_reservoir.csvread import columns_of, read_batches
from synthkit_reservoir.database.engines import describe_db_error
from synthkit_reservoir.family import NAME as FAMILY_NAME
from synthkit_reservoir.replay import recipe

RESULT_NAME = "import_result.json"


BLOCK_ROWS = 20_000  # rows checked and encoded at once: per-call costs vanish at any commit size
RESERVE_ROWS = 500_000  # seqs reserved per state-file save: a kill -9 leaves at most this gap


def ingestion_sink(
    run: Run,
    name: str | None,
    url: str,
    *,
    apply: bool,
    commit_rows: int,
    drain: int = 0,
    needed_by: str,
    options: list[str] | None = None,
    plan: RunPlan | None = None,
) -> Delivery[IngestSink]:
    """An ingestion sink for ``url``: it receives blocks of whole commits and commits every
    ``commit_rows``. ``name`` None: the one ``url``'s scheme picks (http...), else reference_db."""
    plugins = run.plugins
    if name is None:
        claimant = plugins.url_sink(url)
        name = claimant.name if claimant is not None else "reference_db"
    spec = plugins.sink(
        name,
        "ingest",
        needed_by=needed_by,
        fix="give --sink an ingest sink (see `synthkit plugins`)",
    )
    if not apply and "dry_run" not in spec.capabilities:
        raise ConfigError(
            f"sink {spec.name!r} cannot check records without writing them (it has no dry run)",
            hint="give --apply to deliver through it",
        )
    target = IngestTarget(url, apply=apply, commit_rows=commit_rows, drain_analytics=drain)
    return run.open_sink(spec, target, options or (), plan or RunPlan(needed_by))


def check_batch_sizes(commit_rows: int, drain: int | None) -> None:
    """Both batch sizes are rows per transaction: at least 1 (``--analytics-batch-size 0``
    skipped the drain in silence); ``drain`` None: no drain asked for."""
    for flag, value in (("--commit-batch-size", commit_rows), ("--analytics-batch-size", drain)):
        if value is not None and value < 1:
            raise ConfigError(
                f"{flag} must be at least 1, got {value}", hint=f"{flag} is rows per transaction"
            )


def block_rows(commit_rows: int) -> int:
    """Rows per block handed to the sink: whole commits, about ``BLOCK_ROWS`` (so every
    transaction but the last holds exactly ``commit_rows``)."""
    return commit_rows * max(1, -(-BLOCK_ROWS // commit_rows))


def split_outcomes(
    report: SinkReport, elapsed: float
) -> tuple[dict[str, int], dict[str, Any], dict[str, Any]]:
    """(status_counts, analytics summary, timing) from a sink report: the rows' own rate
    leaves out the analytics drain the sink ran at its close, which has its own."""
    outcomes = dict(report.outcomes)
    status = {k: v for k, v in outcomes.items() if not k.startswith("analytics:")}
    analytics: dict[str, Any] = {
        k.removeprefix("analytics:"): v for k, v in outcomes.items() if k.startswith("analytics:")
    }
    drain_s = float((report.details or {}).get("analytics_seconds", 0.0))
    if analytics:
        done = analytics.get("analytics_rows_processed", 0)
        analytics.update(
            analytics_seconds=round(drain_s, 3), analytics_rows_per_second=per_second(done, drain_s)
        )
    rows_s = max(elapsed - drain_s, 0.0)
    timing = {
        "elapsed_seconds": round(elapsed, 3),
        "rows_per_second": per_second(report.records, rows_s),
    }
    return status, analytics, timing


def import_csv(
    run: Run,
    artifact_dir: Path,
    url: str,
    *,
    apply: bool,
    commit_rows: int,
    sink_name: str | None,
    state_file: Path,
    drain: int = 0,
    sink_options: list[str] | None = None,
    out: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """(the summary, what went wrong); ``out``: where the sink delivers when it is not the
    database (an endpoint's URL); with ``apply`` the state file is held from before the
    first write until import_result.json is written."""
    check_batch_sizes(commit_rows, drain or None)  # drain 0: none asked for
    parts = artifact_parts(artifact_dir)  # every part checked before the database is touched
    manifest = parts[0].manifest
    devices = {d: i for part in parts for d, i in (part.manifest.get("devices") or {}).items()}
    total = sum(int(part.manifest.get("total_rows", 0)) for part in parts)
    with SeqState.held(state_file) if apply else contextlib.nullcontext() as state:
        window = manifest.get("window") or {}
        plan = RunPlan(
            "import-csv",
            seed=int(manifest.get("seed") or 0),
            rows=total,
            window=(window["start_at"], window["end_at"]) if "start_at" in window else None,
            streams=tuple(devices),
            extra={"apply": apply},
        )
        sink = ingestion_sink(
            run,
            sink_name,
            out or url,
            apply=apply,
            commit_rows=commit_rows,
            drain=drain,
            needed_by="import-csv",
            options=sink_options,
            plan=plan,
        )
        started = time.perf_counter()
        with progress_bar(f"import-csv {'--apply' if apply else '(dry run)'}", total) as bar:
            try:
                report = deliver(
                    (
                        batch
                        for part in parts
                        for batch in read_batches(part.csv, block_rows(commit_rows))
                    ),
                    sink,
                    columns_of(parts[0].csv),
                    bar.advance,
                )
            except (OperationalError, DBAPIError) as exc:
                raise describe_db_error(url, exc) from None
        counts, analytics, timing = split_outcomes(report, time.perf_counter() - started)
        result: dict[str, Any] = {
            "command": "import-csv",
            "apply": apply,
            "artifact_dir": str(artifact_dir),
            "scenario_id": manifest.get("scenario_id"),
            "database": redact(out or url),
            "row_count": report.records,
            "status_counts": counts,
            **({"analytics": analytics} if analytics else {}),
            "commit_batch_size": commit_rows,
            **timing,
        }
        problems = delivery_problems(report.outcomes, report.details)
        if apply:
            assert state is not None  # held when applying
            _applied(run, parts, state, state_file, sink.plan.sink, out or url, result, problems)
            result_file = AtomicFile(artifact_dir / RESULT_NAME, durable=True)
            result_file.write((json.dumps(result, indent=1) + "\n").encode())
            result_file.commit()
    return result, problems


def _applied(
    run: Run,
    parts: list[Artifact],
    state: SeqState,
    state_file: Path,
    sink: str,
    where: str,
    result: dict[str, Any],
    problems: list[str],
) -> None:
    """An applied import's state, its run records (one per part, each with its devices and
    its faults' labels) and what its summary says of them."""
    stored = sum(v for k, v in result["status_counts"].items() if k.startswith("stored:"))
    if stored == 0:  # a replay: idempotent, not a failure
        result["message"] = "nothing new stored: every row was already in the database"
    for part in parts:
        for device_id, info in (part.manifest.get("devices") or {}).items():
            state.advance(device_id, int(info["last_seq"]))
    state.save()
    run_ids = [
        record_import(run, part.manifest, state_file, sink, where, part.labels()) for part in parts
    ]
    if len(run_ids) == 1:
        result["run_id"] = run_ids[0]
    else:
        result["run_ids"] = run_ids
    result["state_file"] = str(state_file)
    result["warnings"], result["complete"] = problems, not problems


def record_import(
    run: Run,
    manifest: dict[str, Any],
    state_file: Path,
    sink: str,
    where: str,
    labels: str = "",
) -> str:
    """The run record of an applied import: the export's devices and seqs, and the recipe that
    regenerates them (the export's scenario, window start and steps)."""
    from synthkit.api import parse_utc, utc_now

    devices = manifest.get("devices") or {}
    start_s = int(parse_utc(manifest["window"]["start_at"], "manifest window.start_at").timestamp())
    record = RunRecord(
        run_id=new_run_id("import-csv"),
        command="import-csv",
        family=FAMILY_NAME,
        status="finished",
        streams={
            d: StreamRange(int(i["first_seq"]), int(i["last_seq"])) for d, i in devices.items()
        },
        started_at=utc_now(),
        finished_at=utc_now(),
        seed=manifest.get("seed"),
        scenario_id=manifest.get("scenario_id"),
        scenario_sha256=manifest.get("scenario_sha256"),
        window_start=manifest["window"]["start_at"],
        sink=sink,
        target=redact(where),
        store=store_identity(where),
        labels=labels,
        recipe=recipe(
            manifest.get("scenario_path", ""),
            manifest.get("scenario_sha256"),
            start_s,
            {d: int(i["step_seconds"]) for d, i in devices.items()},
        ),
    )
    RunLog(runs_dir(state_file)).write(run.recorded(record))  # the chain its rows went through
    return record.run_id
