"""``synthkit runs | reconcile``: close the loop between what runs emitted and what was
stored (``replay``, which re-emits what is missing: :mod:`synthkit.replay_command`). Run
records are read from the runs directory of ``--state-file``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synthkit.console import emit_json, finish, stderr, table
from synthkit.context import global_options
from synthkit.errors import ConfigError
from synthkit.flags import DbUrlFlag
from synthkit.runs import RunLog, RunRecord, runs_dir

if TYPE_CHECKING:
    from synthkit.ledger import Ledger
    from synthkit.plugins import Plugins

RunIds = Annotated[
    list[str] | None,
    typer.Option("--run", metavar="<id>", help="A run id (repeatable; default: every run record)."),
]


def run_log(ctx: typer.Context) -> RunLog:
    return RunLog(runs_dir(global_options(ctx).state_file))


def runs_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout.")
    ] = False,
    catch_up: Annotated[
        bool,
        typer.Option(
            "--catch-up-state",
            help="Move each stream of the state file past "
            "the seqs its run records used (after the state file was lost or reset on purpose).",
        ),
    ] = False,
) -> None:
    """List the run records: what each producing command emitted, per stream."""
    log = run_log(ctx)
    records = log.records()
    if catch_up:
        _catch_up(global_options(ctx).state_file, records)
    if as_json:
        emit_json(
            {
                "command": "runs",
                "runs_dir": str(log.directory),
                "runs": [_brief(r) for r in records],
            }
        )
        return
    out = table(
        f"run records in {log.directory}",
        ("run id", "command", "status", "started", "streams", "emitted", "sink -> target"),
        prose=("sink -> target",),
    )
    for r in records:
        out.add_row(
            r.run_id,
            r.command,
            r.status,
            r.started_at,
            str(len(r.streams)),
            str(r.emitted),
            f"{r.sink} -> {r.target}",
        )
    stderr().print(out)
    emit_json(
        {"command": "runs", "runs_dir": str(log.directory), "runs": [_brief(r) for r in records]}
    )


def _catch_up(state_file: Path, records: list[RunRecord]) -> None:
    from synthkit.state import SeqState

    with SeqState.held(state_file, check=False) as state:
        before = dict(state.last)
        for record in records:
            for stream, r in record.streams.items():
                if r.count:
                    state.advance(stream, r.last_seq)
        moved = state.last != before
        state.save()
    stderr().print(
        f"{state_file}: {'moved past the run records' if moved else 'already past the run records'}",
        highlight=False,
    )


def _brief(r: RunRecord) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "command": r.command,
        "family": r.family,
        "status": r.status,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "streams": len(r.streams),
        "emitted": r.emitted,
        "sink": r.sink,
        "target": r.target,
    }


def _records(log: RunLog, run_ids: list[str] | None) -> list[RunRecord]:
    records = [log.load(r) for r in run_ids] if run_ids else log.records()
    if not records:
        raise ConfigError(
            f"no run records in {log.directory}",
            hint="run, bootstrap and import-csv --apply write one; give the --state-file they used",
        )
    return records


def reconcile_command(
    ctx: typer.Context,
    run: RunIds = None,
    db_url: DbUrlFlag = None,
    sink: Annotated[
        str | None,
        typer.Option(
            "--sink", help="The ingest sink whose store to read (default: the one the URL picks)."
        ),
    ] = None,
    stored: Annotated[
        Path | None,
        typer.Option(
            "--stored",
            help="A CSV or JSON-lines file of stored (client, seq[, stored_at]) pairs, instead of a database.",
        ),
    ] = None,
    stored_client: Annotated[
        str, typer.Option("--stored-client", help="--stored's client column.")
    ] = "client",
    stored_seq: Annotated[str, typer.Option("--stored-seq", help="--stored's seq column.")] = "seq",
    late_after: Annotated[
        float,
        typer.Option(
            "--late-after",
            help="A live run's row stored this many seconds after the run ended counts as late.",
        ),
    ] = 60.0,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Also write the JSON report to this file (for replay --report)."
        ),
    ] = None,
) -> None:
    """Compare run records with what was stored: missing ranges, duplicates, unexpected and late rows (exit 3 unless complete)."""
    from synthkit.context import plugins_of
    from synthkit.files import AtomicFile
    from synthkit.reconcile import reconcile_records

    records = _records(run_log(ctx), run)
    left_out: list[dict[str, str]] = []
    if stored is not None:
        from synthkit.ledger import FileLedger

        ledger: Ledger = FileLedger(stored, client=stored_client, seq=stored_seq)
    else:
        url = global_options(ctx).database(db_url)
        if not run:  # only the runs whose rows belong in this store (--run counts what it names)
            records, left_out = _of_store(records, url, run_log(ctx).directory, plugins_of(ctx))
        ledger = plugins_of(ctx).ledger(url, sink, records=records)
    try:  # a store that is away or lacks its table: the ledger's ConfigError names it
        result = reconcile_records(records, ledger, late_after_s=late_after)
    finally:
        ledger.close()
    if left_out:
        result["left_out"] = left_out
        stderr().print(
            f"reconcile: left out {len(left_out)} run record(s) of other stores or brokers "
            "(`left_out` in the JSON says why)",
            highlight=False,
        )
    _reconcile_table(result)
    next_step = (
        f"`synthkit replay --report {report}` re-emits the missing"
        if report is not None
        else "re-emit the missing with `synthkit reconcile --report FILE`, then `synthkit replay --report FILE`"
    )
    problems = (
        []
        if result["complete"]
        else [
            f"{result['missing']} of {result['expected']} emitted row(s) missing in {result['streams_incomplete']} "
            f"stream(s), {result['duplicates']} duplicate(s); {next_step}"
        ]
    )
    if report is not None:
        out = AtomicFile(report, durable=True)
        out.write((json.dumps(result, indent=1) + "\n").encode())
        out.commit()
    finish(result, problems)


def _of_store(
    records: list[RunRecord], url: str, directory: Path, plugins: Plugins
) -> tuple[list[RunRecord], list[dict[str, str]]]:
    """The records whose rows belong in ``url``'s store, and the others with why; none: a
    ConfigError naming where the runs went."""
    from synthkit.reconcile import records_for
    from synthkit.secrets import hide_in_url

    identify = plugins.store_identity
    kept, left_out = records_for(records, identify(url), identify=identify)
    if not kept:
        went = sorted({x["reason"] for x in left_out})
        raise ConfigError(
            f"none of the {len(records)} run record(s) in {directory} stored its rows in "
            f"{hide_in_url(url)}: {'; '.join(went[:3])}{' ...' if len(went) > 3 else ''}",
            hint="give --db-url the store a run wrote to, or --run ID to count that run here",
        )
    return kept, left_out


def _reconcile_table(result: dict[str, Any]) -> None:
    if not result["streams"]:
        stderr().print(
            f"reconcile: {result['stored']} of {result['expected']} stored, complete",
            highlight=False,
        )
        return
    out = table(
        f"reconcile: {result['stored']} of {result['expected']} stored "
        f"({'complete' if result['complete'] else 'incomplete'})",
        (
            "stream",
            "expected",
            "stored",
            "missing",
            "duplicates",
            "unexpected",
            "late",
            "missing ranges",
        ),
        prose=("missing ranges",),
    )
    for stream, row in list(result["streams"].items())[:50]:
        ranges = ", ".join(f"{lo}..{hi}" for lo, hi in row["missing_ranges"][:5])
        more = len(row["missing_ranges"]) - 5
        out.add_row(
            stream,
            *(
                str(row[k])
                for k in ("expected", "stored", "missing", "duplicates", "unexpected", "late")
            ),
            ranges + (f" (+{more} more)" if more > 0 else ""),
        )
    if len(result["streams"]) > 50:
        out.caption = (
            f"first 50 of {len(result['streams'])} streams with a problem; all are in the JSON"
        )
    stderr().print(out)
