"""export-csv: the historical window as ``telemetry_rows.csv`` + ``manifest.json``.

Artifacts are written into a hidden temporary directory beside the final one and renamed
into place only when both files are complete: a failure or Ctrl+C leaves nothing behind, and
nothing is ever written outside the output root.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from synthkit import __version__
from synthkit.api import (
    Batch,
    ConfigError,
    Delivery,
    FileSink,
    FileTarget,
    Part,
    PartFile,
    Plugins,
    Run,
    RunPlan,
    SeqState,
    Shard,
    SinkSpec,
    deliver,
    missing_parents,
    part_file,
    part_name,
    per_second,
    progress_bar,
    sweep_stale,
    temp_path,
)
from synthkit_reservoir.engine import FleetRun, export_window
from synthkit_reservoir.export_part import iso, part_about
from synthkit_reservoir.rows import RowBuilder
from synthkit_reservoir.scenario import LoadedScenario

CSV_NAME = "telemetry_rows.csv"
MANIFEST_NAME = "manifest.json"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id) or run_id in (".", ".."):
        raise ConfigError(
            f"--run-id {run_id!r} is not a plain name",
            hint="use letters, digits, '_', '-' and '.', no slashes (e.g. jan_demo)",
        )
    return run_id


def rows_name(spec: SinkSpec) -> str:
    """The artifact's rows file: ``telemetry_rows.csv`` for csv, else the sink's first ending."""
    return CSV_NAME if spec.name == "csv" else "telemetry_rows" + (spec.extensions[:1] or ("",))[0]


def export_csv(
    run: Run,
    loaded: LoadedScenario,
    state_file: Path,
    end: datetime,
    run_id: str | None,
    output_root: Path,
    sink_name: str = "csv",
    sink_options: list[str] | None = None,
    shard: Shard | None = None,
) -> dict[str, Any]:
    """``shard``: only its devices (a hash of each id picks them), as part K of the dataset
    ``<run id>/`` (``part-0000K-of-0000N/``, recorded once written; ``synthkit dataset
    seal`` or the executor writes its manifest); the N parts' rows together are the run's."""
    end_s = int(end.timestamp())
    run_id = check_run_id(run_id or f"run_{end.strftime('%Y%m%dT%H%M%SZ')}")
    final = output_root / loaded.scenario_id / run_id
    if shard is not None:
        loaded = loaded.sharded(shard)
        final = final / part_name(shard)
    else:
        refuse_existing(final)
    plugins = run.plugins
    spec = plugins.sink(
        sink_name,
        "file",
        needed_by="export-csv",
        fix="give --sink a file sink (csv, jsonl, parquet...)",
    )
    from synthkit.api import parse_sink_options

    options = parse_sink_options(
        spec, sink_options or ()
    )  # a bad option stops before the state is held
    # export continues the sequence: held so that no run moves it while the export is written
    with SeqState.held(state_file, shard=loaded.shard) as state:
        part = Part(shard, final.parent, part_about(run, loaded, end_s, spec.name, options, state))
        if part.done():
            return part.summary()
        return _export(
            loaded,
            state,
            end_s,
            run_id,
            final,
            lambda target, plan: run.open_sink(spec, target, options, plan),
            rows_name(spec),
            spec.name,
            part,
        )


def refuse_existing(final: Path) -> None:
    if final.exists():
        raise ConfigError(
            f"artifact directory {final} already exists",
            hint="choose another --run-id; existing artifacts are never overwritten",
        )


def _prepared(final: Path, part: Part) -> tuple[Path, list[Path]]:
    """The temp directory the export writes before its rename, and the directories made for
    it (a failed export removes them again; not a shard's: the other shards, running beside
    it, write there too)."""
    made = missing_parents(final.parent) if part.shard is None else []
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create {final.parent}: {exc.strerror}", hint="check --output-root"
        ) from None
    tmp = temp_path(final)
    shutil.rmtree(tmp, ignore_errors=True)
    sweep_stale(final.parent)
    if part.shard is not None:  # written, never recorded: its writer died before the record
        shutil.rmtree(final, ignore_errors=True)
    tmp.mkdir()
    return tmp, made


def _export(
    loaded: LoadedScenario,
    state: SeqState,
    end_s: int,
    run_id: str,
    final: Path,
    make: Callable[[FileTarget, RunPlan], Delivery[FileSink]],
    rows_file: str,
    sink_name: str,
    part: Part,
) -> dict[str, Any]:
    window, steps = export_window(loaded, end_s)
    first_seq = [state.next_seq(d.device_id) for d in loaded.devices]
    fleet = FleetRun(loaded, loaded.devices, steps, window, first_seq)
    builder = RowBuilder(fleet)
    tmp, made = _prepared(final, part)
    try:
        target = FileTarget(tmp / rows_file, digest=hashlib.sha256())  # hashed on the I/O thread
        total = fleet.total_rows()
        plan = RunPlan(
            "export-csv",
            seed=loaded.seed,
            window=(iso(window.start_s), iso(window.end_s)),
            streams=tuple(d.device_id for d in loaded.devices),
            rows=total,
            faults=loaded.faults,
        )
        sink = make(target, plan)
        started = time.perf_counter()
        generated = [0]  # rows the fleet emitted (faults may drop or repeat some on the way)

        def batches() -> Iterator[Batch]:
            for block in fleet.blocks():
                batch = builder.batch(block)
                generated[0] += batch.n
                yield batch

        with progress_bar(f"export-csv -> {run_id}", total) as bar:
            report = deliver(batches(), sink, builder.columns, bar.advance)
        elapsed = time.perf_counter() - started
        per_device = {
            d.device_id: {
                "rows": window.points(step),
                "first_seq": first,
                "last_seq": first + window.points(step) - 1,
                "step_seconds": step,
                "archetype": d.archetype.name,
                "mode": d.mode,
            }
            for d, step, first in zip(loaded.devices, steps, first_seq)
        }
        manifest = {
            "format": "synthkit.export-csv/1",
            "scenario_id": loaded.scenario_id,
            "scenario_path": loaded.path,
            "scenario_sha256": loaded.sha256,
            "seed": loaded.seed,
            "run_id": run_id,
            **({"shard": str(part.shard)} if part.shard is not None else {}),
            "window": {"start_at": iso(window.start_s), "end_at": iso(window.end_s)},
            **_rows_entry(sink_name, rows_file, target.sha256(), report.bytes),
            "columns": list(sink.columns),
            "total_rows": report.records,
            "devices": per_device,
            "versions": _versions(loaded, sink.run.plugins),
            # the transforms' notes (ground-truth labels...) beside the rows, and their counters
            **({"notes": sink.notebook.manifest} if sink.notebook.manifest else {}),
        }
        if generated[0] != total:
            raise RuntimeError(f"generated {generated[0]} rows, planned {total}")
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        try:
            os.rename(tmp, final)  # both files appear together, or not at all
        except OSError as exc:  # another export with this run id finished first
            if final.exists():
                raise ConfigError(
                    f"artifact directory {final} was created by another export while this one ran",
                    hint="choose another --run-id; existing artifacts are never overwritten",
                ) from None
            raise ConfigError(
                f"cannot move the export into {final}: {exc.strerror}", hint="check --output-root"
            ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for d in reversed(made):
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    summary = {
        "command": "export-csv",
        "scenario_id": loaded.scenario_id,
        "run_id": run_id,
        **(
            {"shard": str(part.shard), "dataset": str(final.parent)}
            if part.shard is not None
            else {}
        ),
        "artifact_dir": str(final),
        **(
            {"csv": str(final / rows_file)}
            if sink_name == "csv"
            else {"rows": str(final / rows_file), "sink": sink_name}
        ),
        "manifest": str(final / MANIFEST_NAME),
        "row_count": report.records,
        "device_count": len(loaded.devices),
        "window": manifest["window"],
        **{k: v for k, v in manifest.items() if k in ("csv_sha256", "rows_sha256")},
        "elapsed_seconds": round(elapsed, 3),
        "rows_per_second": per_second(report.records, elapsed),
    }
    rows_sha = manifest.get("csv_sha256") or manifest["rows_sha256"]  # the rows may be a tree
    rows = PartFile(f"{final.name}/{rows_file}", rows_sha, report.bytes, report.records)
    others = [part_file(final.parent, p) for p in sorted(final.iterdir()) if p.name != rows_file]
    part.record([rows, *others], summary)
    return summary


def _rows_entry(sink_name: str, rows_file: str, sha256: str, size: int) -> dict[str, Any]:
    """The manifest's rows-file keys: ``csv_*`` as ever for csv (what analyze-csv and
    import-csv read), ``rows_*`` with the format for any other file sink."""
    if sink_name == "csv":
        return {"csv_file": rows_file, "csv_sha256": sha256, "csv_bytes": size}
    return {
        "rows_file": rows_file,
        "rows_format": sink_name,
        "rows_sha256": sha256,
        "rows_bytes": size,
    }


def require_csv(manifest: dict[str, Any], artifact_dir: Path, command: str) -> None:
    """A ConfigError when the artifact's rows were written by another file sink than csv."""
    fmt = manifest.get("rows_format")
    if fmt and fmt != "csv":
        raise ConfigError(
            f"{artifact_dir}: its rows are {fmt} ({manifest.get('rows_file')}); {command} reads csv artifacts",
            hint="export it again with --sink csv (the default)",
        )


def _versions(loaded: LoadedScenario, plugins: Plugins) -> dict[str, str]:
    """synthkit's version and those of the distributions that provided the run's models and
    archetypes (what the data depends on)."""
    out = {"synthkit": __version__}
    for d in loaded.devices:
        for kind, name in (("device_models", d.model.name), ("archetypes", d.archetype.name)):
            source = plugins.source_of(kind, name)
            dist, _, ver = source.partition(" ")
            out.setdefault(dist, ver)
    return out
