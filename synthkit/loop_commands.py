"""``synthkit runs | reconcile | replay``: close the loop between what runs emitted and what
was stored. Run records are read from the runs directory of ``--state-file``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synthkit.console import emit_json, finish, progress_bar, stderr, table
from synthkit.context import global_options
from synthkit.errors import ConfigError
from synthkit.flags import BrokerFlag, DbUrlFlag, SinkOptionFlag
from synthkit.runs import RunLog, RunRecord, runs_dir

if TYPE_CHECKING:
    from synthkit.contracts import Target
    from synthkit.ledger import Ledger
    from synthkit.run import Run

RunIds = Annotated[
    list[str] | None,
    typer.Option("--run", metavar="<id>", help="A run id (repeatable; default: every run record)."),
]


def _log(ctx: typer.Context) -> RunLog:
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
    log = _log(ctx)
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

    records = _records(_log(ctx), run)
    left_out: list[dict[str, str]] = []
    if stored is not None:
        from synthkit.ledger import FileLedger

        ledger: Ledger = FileLedger(stored, client=stored_client, seq=stored_seq)
    else:
        url = global_options(ctx).database(db_url)
        if not run:  # only the runs whose rows belong in this store (--run counts what it names)
            records, left_out = _of_store(records, url, _log(ctx).directory)
        ledger = plugins_of(ctx).ledger(url, sink)
    from sqlalchemy.exc import DBAPIError

    try:
        result = reconcile_records(records, ledger, late_after_s=late_after)
    except DBAPIError as exc:  # a store that is away or has no such table: one line naming it
        from synthkit.database import describe_db_error

        raise describe_db_error(ledger.where, exc) from None
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
    records: list[RunRecord], url: str, directory: Path
) -> tuple[list[RunRecord], list[dict[str, str]]]:
    """The records whose rows belong in ``url``'s store, and the others with why; none: a
    ConfigError naming where the runs went."""
    from synthkit.dburl import store_identity
    from synthkit.reconcile import records_for
    from synthkit.secrets import hide_in_url

    kept, left_out = records_for(records, store_identity(url))
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


def replay_command(
    ctx: typer.Context,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="A `synthkit reconcile` JSON report: replay its missing ranges."
        ),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            metavar="<id>",
            help="A run id, with --device/--from/--to (default: all it emitted).",
        ),
    ] = None,
    device: Annotated[
        list[str] | None,
        typer.Option(
            "--device", metavar="<stream>", help="A stream of --run (repeatable; default: all)."
        ),
    ] = None,
    first: Annotated[
        int | None,
        typer.Option("--from", min=0, help="First seq to replay (default: the run's first)."),
    ] = None,
    last: Annotated[
        int | None,
        typer.Option("--to", min=0, help="Last seq to replay (default: the run's last)."),
    ] = None,
    sink: Annotated[
        str | None,
        typer.Option("--sink", help="The sink to re-emit through (default: the one the run used)."),
    ] = None,
    sink_option: SinkOptionFlag = None,
    db_url: DbUrlFlag = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Where an ingest sink that is not the database delivers (an endpoint URL).",
        ),
    ] = None,
    broker_url: BrokerFlag = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Broker host (default: the run's broker).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Broker port (default: the run's broker).")
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="Topic template (default: the run's).")
    ] = None,
    qos: Annotated[int, typer.Option("--qos", help="MQTT QoS 0, 1 or 2.")] = 1,
    commit_batch_size: Annotated[
        int, typer.Option("--commit-batch-size", help="Rows per transaction (ingest sinks).")
    ] = 5000,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            help="At most this many messages per second (0: no limit); keep a live listener's broker queue from overflowing.",
        ),
    ] = 0,
) -> None:
    """Re-emit exactly the missing (stream, seq) ranges, byte-identical to the first emission, through any sink."""
    from synthkit.replay import missing_from_report, replay_run, runs_to_replay
    from synthkit.run import start_run
    from synthkit.runs import StreamRange
    from synthkit.state import SeqState

    log = _log(ctx)
    # a record that claims seqs the state never handed out (edited, or the state lost) is refused
    SeqState.load(global_options(ctx).state_file).require_ahead_of_records()
    if rate < 0:
        raise ConfigError(f"--rate must be >= 0, got {rate:g}", hint="0 means no limit")
    if (report is None) == (run is None):
        raise ConfigError(
            "give --report FILE (a reconcile report) or --run ID",
            hint="see `synthkit replay --help`",
        )
    if report is not None:
        try:
            doc = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{report}: not a readable JSON report ({exc})",
                hint="write one with `synthkit reconcile --report FILE`",
            ) from None
        work = runs_to_replay(log, missing_from_report(doc, str(report)))
    else:
        record = log.load(str(run))
        streams = device or sorted(record.streams)
        unknown = [d for d in streams if d not in record.streams]
        if unknown:
            raise ConfigError(
                f"run {run} has no stream {unknown[0]!r}",
                hint=f"its streams: {', '.join(sorted(record.streams)[:10])}",
            )
        picked: dict[str, list[list[int]]] = {}
        for d in streams:
            r: StreamRange = record.streams[d]
            lo, hi = (
                first if first is not None else r.first_seq,
                last if last is not None else r.last_seq,
            )
            if lo <= hi:
                picked[d] = [[lo, hi]]
        work = [(record, picked)]
    replaying = start_run(ctx, "replay")
    plugins = replaying.plugins
    make = _sink_maker(
        replaying,
        sink=sink,
        options=sink_option or [],
        db_url=db_url,
        database=global_options(ctx).database(db_url),
        out=out,
        broker_url=broker_url,
        host=host,
        port=port,
        topic=topic,
        qos=qos,
        commit_rows=commit_batch_size,
    )
    total = sum(hi - lo + 1 for _, m in work for rs in m.values() for lo, hi in rs)
    results, problems = [], []
    with replaying, progress_bar("replay", total) as bar:
        for record, missing in work:
            done = replay_run(plugins, record, missing, make, bar.advance, rate=rate)
            results.append(done)
            problems += done.get("warnings", [])
        replaying.finish(
            {"command": "replay", "runs": results, "replayed": sum(r["replayed"] for r in results)},
            problems,
        )


def _sink_maker(
    run: Run,
    *,
    sink: str | None,
    options: list[str],
    db_url: str | None,
    database: str,
    out: str | None,
    broker_url: str | None,
    host: str | None,
    port: int | None,
    topic: str | None,
    qos: int,
    commit_rows: int,
) -> Any:
    from synthkit.brokers import BrokerRequest, endpoint_of
    from synthkit.contracts import BrokerTarget, IngestTarget
    from synthkit.run import RunPlan

    plugins = run.plugins
    if commit_rows < 1:
        raise ConfigError(f"--commit-batch-size must be at least 1, got {commit_rows}")

    def make(replayer: Any, record: RunRecord) -> Any:
        if broker_url:  # its scheme picks the broker sink (unless --sink names one)
            spec, endpoint = plugins.broker(BrokerRequest(url=broker_url), sink, needed_by="replay")
        else:
            spec = plugins.sink(
                sink or record.sink,
                ("broker", "ingest"),
                needed_by="replay",
                fix="give --sink a broker sink (mqtt) or an ingest sink (see `synthkit plugins`)",
            )
        streams = tuple(sorted(record.streams))
        plan = RunPlan(
            "replay",
            seed=record.seed or 0,
            streams=streams,
            live=spec.kind == "broker",
            extra={"run_id": record.run_id},
        )
        if spec.kind == "broker":
            if not broker_url:  # the run's broker, unless --host/--port say otherwise
                was_host, _, was_port = (
                    record.target.rpartition(":") if record.sink == spec.name else ("", "", "")
                )
                request = BrokerRequest(
                    host=host or was_host or None,
                    port=port or (int(was_port) if was_port.isdigit() else None),
                )
                endpoint = endpoint_of(spec, request)
            target: Target = BrokerTarget(
                endpoint,
                clients=streams,
                topic=topic or record.topic or replayer.topic,
                client_column=replayer.client_column,
                qos=qos,
                payloads=replayer.payloads(),
            )
        else:
            same_sink = spec.name == record.sink
            target = IngestTarget(
                out or _destination(record, db_url, database, same_sink),
                apply=True,
                commit_rows=commit_rows,
            )
        # the run's own transforms (what its payload bytes went through), unless replay names others
        chain = (
            (run.transforms, run.transform_options)
            if run.transforms
            else (record.transforms, record.transform_options)
        )
        return run.open_sink(spec, target, options, plan, chain=chain)

    return make


def _destination(record: RunRecord, db_url: str | None, resolved: str, same_sink: bool) -> str:
    """Where an ingest replay of ``record`` delivers: replay's ``--db-url``; else where the
    run's rows went (``resolved``, the URL the global option or environment give, when it is
    that store, else the record's own target, which holds no password); else the default
    database."""
    from synthkit.dburl import store_identity
    from synthkit.runs import where_stored
    from synthkit.secrets import MASK

    went = where_stored(record)
    if db_url or not went or not same_sink or store_identity(resolved) == went:
        return resolved
    if MASK in record.target:
        raise ConfigError(
            f"run {record.run_id} stored its rows in {record.target}, whose password synthkit does not keep",
            hint="give --db-url (or SYNTHKIT_DB_URL) with it",
        )
    return record.target
