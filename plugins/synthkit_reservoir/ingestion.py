"""bootstrap and import-csv: history into the ingestion database, through an ingestion sink
(the reference database's ``reference_db`` unless ``--sink`` names a team's own)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from synthkit.api import (
    AtomicFile,
    Batch,
    ConfigError,
    Plugins,
    SeqState,
    deliver,
    describe_db_error,
    progress_bar,
    redact,
)
from synthkit_reservoir.csvread import BadRow, bad_line, check_csv, read_batches
from synthkit_reservoir.engine import FleetRun, export_window
from synthkit_reservoir.export import CSV_NAME, MANIFEST_NAME, iso
from synthkit_reservoir.preflight_db import db_preflight
from synthkit_reservoir.rows import RowBuilder
from synthkit_reservoir.scenario import LoadedScenario

RESULT_NAME = "import_result.json"


BLOCK_ROWS = 20_000  # rows checked and encoded at once: per-call costs vanish at any commit size


def ingestion_sink(plugins: Plugins, name: str, url: str, *, apply: bool, commit_rows: int, drain: int = 0,
                   needed_by: str) -> Any:  # fmt: skip
    """An ingestion sink: it receives blocks of whole commits and commits every ``commit_rows``."""
    spec = plugins.sink(name, "ingest", needed_by=needed_by, fix="give --sink an ingest sink (see `synthkit plugins`)")
    return spec.factory(url, apply=apply, drain_analytics=drain, commit_rows=commit_rows)


def block_rows(commit_rows: int) -> int:
    """Rows per block handed to the sink: whole commits, about ``BLOCK_ROWS`` (so every
    transaction but the last holds exactly ``commit_rows``)."""
    return commit_rows * max(1, -(-BLOCK_ROWS // commit_rows))


def split_outcomes(outcomes: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """(status_counts, analytics summary) from a sink report's outcomes."""
    status = {k: v for k, v in outcomes.items() if not k.startswith("analytics:")}
    analytics = {k.removeprefix("analytics:"): v for k, v in outcomes.items() if k.startswith("analytics:")}
    return status, analytics


def _rechunk(batches: Iterator[Batch], rows: int) -> Iterator[Batch]:
    """Batches of at most ``rows``."""
    for batch in batches:
        for start in range(0, batch.n, rows):
            yield batch.slice(start, start + rows) if batch.n > rows else batch


def verify_artifact(artifact_dir: Path) -> tuple[dict[str, Any], Path]:
    """The manifest, after checking the CSV against its csv_sha256 and parsing every row
    (one pass, before any database work): a bad row stops the import before its first write."""
    manifest_path, csv_path = artifact_dir / MANIFEST_NAME, artifact_dir / CSV_NAME
    for p in (manifest_path, csv_path):
        if not p.is_file():
            raise ConfigError(f"{p}: missing", hint="point --artifact-dir at an export-csv output")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        expected = manifest["csv_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{manifest_path}: unreadable manifest ({exc})", hint="re-run export-csv") from None
    bad: BadRow | None = None
    try:
        actual = check_csv(csv_path)
    except BadRow as exc:
        actual, bad = exc.sha256, exc
    if actual != expected:
        raise ConfigError(
            f"import-csv failed with manifest csv_sha256 mismatch: {csv_path} has "
            f"{actual[:16]}..., the manifest says {str(expected)[:16]}...",
            hint="CSV or manifest changed after export; regenerate the export, then re-run analyze/import",
        )
    if bad is not None:
        raise bad_line(csv_path, bad.problem)
    return manifest, csv_path


def import_csv(
    plugins: Plugins, artifact_dir: Path, url: str, *, apply: bool, commit_rows: int,
    sink_name: str, state_file: Path, drain: int = 0,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """(the summary, what went wrong); with ``apply`` the state file is held from before the
    first write until import_result.json is written."""
    if commit_rows < 1:
        raise ConfigError(f"--commit-batch-size must be at least 1, got {commit_rows}")
    manifest, csv_path = verify_artifact(artifact_dir)  # before the database is touched
    with SeqState.held(state_file) if apply else contextlib.nullcontext() as state:
        sink = ingestion_sink(plugins, sink_name, url, apply=apply, commit_rows=commit_rows, drain=drain,
                              needed_by="import-csv")
        started = time.perf_counter()
        total = int(manifest.get("total_rows", 0))
        with progress_bar(f"import-csv {'--apply' if apply else '(dry run)'}", total) as bar:
            try:
                report = deliver(read_batches(csv_path, block_rows(commit_rows)), sink, (), bar.advance)
            except (OperationalError, DBAPIError) as exc:
                raise describe_db_error(url, exc) from None
        elapsed = time.perf_counter() - started
        counts, analytics = split_outcomes(dict(report.outcomes))
        result: dict[str, Any] = {
            "command": "import-csv",
            "apply": apply,
            "artifact_dir": str(artifact_dir),
            "scenario_id": manifest.get("scenario_id"),
            "database": redact(url),
            "row_count": report.records,
            "status_counts": counts,
            **({"analytics": analytics} if analytics else {}),
            "commit_batch_size": commit_rows,
            "elapsed_seconds": round(elapsed, 3),
            "rows_per_second": round(report.records / elapsed) if elapsed > 0 else None,
        }
        problems = rejected_problems(counts)
        if apply:
            stored = sum(v for k, v in counts.items() if k.startswith("stored:"))
            if stored == 0:  # a replay: idempotent, not a failure
                result["message"] = "nothing new stored: every row was already in the database"
            for device_id, info in (manifest.get("devices") or {}).items():
                state.advance(device_id, int(info["last_seq"]))
            state.save()
            result["state_file"] = str(state_file)
            result["warnings"], result["complete"] = problems, not problems
            out = AtomicFile(artifact_dir / RESULT_NAME, durable=True)
            out.write((json.dumps(result, indent=1) + "\n").encode())
            out.commit()
    return result, problems


def rejected_problems(counts: dict[str, int]) -> list[str]:
    """One line for the rows that were refused (rejected:REASON), if any."""
    rejected = {k: v for k, v in counts.items() if k.startswith("rejected:")}
    if not rejected:
        return []
    detail = ", ".join(f"{k.removeprefix('rejected:')}: {v}" for k, v in sorted(rejected.items()))
    return [f"{sum(rejected.values())} row(s) rejected ({detail}): they were not stored"]


def bootstrap(
    plugins: Plugins, loaded: LoadedScenario, url: str, *, now: datetime, commit_rows: int,
    sink_name: str, state_file: Path, strict: bool = False, drain: int = 0,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """Section 5: the ``bootstrap.days`` before ``now``, straight into the ingestion sink.

    Order matters: the state file is held, the preflight runs and the sink opens (which
    refuses a schema that cannot dedupe) before any seq is reserved, so a run that is
    refused spends nothing and leaves no file."""
    if commit_rows < 1:
        raise ConfigError(f"--commit-batch-size must be at least 1, got {commit_rows}")
    end_s = int(now.timestamp())
    window, steps = export_window(loaded, end_s)
    with SeqState.held(state_file) as state:
        report = db_preflight(plugins, loaded, url, strict=strict)
        first = [state.next_seq(d.device_id) for d in loaded.devices]
        run = FleetRun(loaded, loaded.devices, steps, window, first)
        sink = ingestion_sink(plugins, sink_name, url, apply=True, commit_rows=commit_rows, drain=drain,
                              needed_by="bootstrap")
        builder = RowBuilder(run)

        def reserved_batches() -> Iterator[Batch]:
            # runs after sink.open: reserve the seqs before writing, so an interrupted run
            # leaves a gap, never a reused seq
            for d, step, f in zip(loaded.devices, steps, first):
                state.advance(d.device_id, f + window.points(step) - 1)
            state.save()
            yield from _rechunk((builder.batch(b) for b in run.blocks()), block_rows(commit_rows))

        started = time.perf_counter()
        with progress_bar("bootstrap", run.total_rows()) as bar:
            try:
                delivered = deliver(reserved_batches(), sink, builder.columns, bar.advance)
            except (OperationalError, DBAPIError) as exc:
                raise describe_db_error(url, exc) from None
    elapsed = time.perf_counter() - started
    counts, analytics = split_outcomes(dict(delivered.outcomes))
    problems = [f"preflight error (not --strict): {e}" for e in report.errors] + rejected_problems(counts)
    duplicates = sum(v for k, v in counts.items() if k.startswith("duplicate:"))
    if duplicates:
        problems.append(
            f"{duplicates} row(s) were not stored: the database already holds those (device, seq) "
            f"pairs, so the state file {state_file} is behind the database (lost, reset or "
            "copied?); restore it, or start from the database's highest seq per device"
        )
    return {
        "command": "bootstrap",
        "scenario_id": loaded.scenario_id,
        "database": redact(url),
        "window": {"start_at": iso(window.start_s), "end_at": iso(window.end_s)},
        "devices": len(loaded.devices),
        "total_emitted": delivered.records,
        "status_counts": counts,
        **({"analytics": analytics} if analytics else {}),
        "preflight_errors": report.errors,
        "warnings": report.warnings,
        "commit_batch_size": commit_rows,
        "state_file": str(state_file),
        "elapsed_seconds": round(elapsed, 3),
        "rows_per_second": round(delivered.records / elapsed) if elapsed > 0 else None,
    }, problems
