"""``synthkit replay``: re-emit exactly the missing (stream, seq) ranges of run records, from a
reconcile report or a run id, through the run's sink or any other of a kind it can drive."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synthkit.console import progress_bar
from synthkit.context import global_options
from synthkit.errors import ConfigError
from synthkit.flags import BrokerFlag, DbUrlFlag, SinkOptionFlag
from synthkit.loop_commands import run_log
from synthkit.runs import RunRecord

if TYPE_CHECKING:
    from synthkit.contracts import Target
    from synthkit.run import Run


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

    log = run_log(ctx)
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
            extra={"run_id": record.run_id, "window_start": record.window_start},
            faults=replayer.faults,
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
                out or _destination(record, db_url, database, same_sink, plugins.store_identity),
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


def _destination(
    record: RunRecord,
    db_url: str | None,
    resolved: str,
    same_sink: bool,
    identify: Callable[[str], str],
) -> str:
    """Where an ingest replay of ``record`` delivers: replay's ``--db-url``; else where the
    run's rows went (``resolved``, the URL the global option or environment give, when it is
    that store, else the record's own target, which holds no password); else the default
    database."""
    from synthkit.runs import where_stored
    from synthkit.secrets import MASK

    went = where_stored(record, identify)
    if db_url or not went or not same_sink or identify(resolved) == went:
        return resolved
    if MASK in record.target:
        raise ConfigError(
            f"run {record.run_id} stored its rows in {record.target}, whose password synthkit does not keep",
            hint="give --db-url (or SYNTHKIT_DB_URL) with it",
        )
    return record.target
