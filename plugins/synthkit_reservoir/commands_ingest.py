"""``synthkit [--scenario X] import-csv | bootstrap``: the reservoir rows into an ingest sink
(the reference database, or an endpoint), through the ingestion contract."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from synthkit.api import (
    DbUrlFlag,
    Shard,
    ShardFlag,
    SinkOptionFlag,
    global_options,
    parse_utc,
    start_run,
    stderr,
)
from synthkit_reservoir.commands import load

app = typer.Typer(add_completion=False)


SinkName = Annotated[
    str | None,
    typer.Option(
        "--sink",
        help="The ingest sink (a plugin: reference_db, http...; default: the one --out's scheme picks, else reference_db).",
    ),
]
IngestOut = Annotated[
    str | None,
    typer.Option(
        "--out",
        help="Where an ingest sink that is not the database delivers (an endpoint URL, http://...); default: --db-url.",
    ),
]

CommitBatchSize = Annotated[int, typer.Option("--commit-batch-size", help="Rows per transaction.")]
AnalyticsBatchSize = Annotated[
    int, typer.Option("--analytics-batch-size", help="Rows per analytics transaction.")
]


@app.command(
    "import-csv",
    rich_help_panel="Database",
    epilog="Example: synthkit import-csv --artifact-dir generated/stationary_only_v1/jan_demo --apply --commit-batch-size 500 --drain-analytics",
)
def import_csv_command(
    ctx: typer.Context,
    artifact_dir: Annotated[
        Path, typer.Option("--artifact-dir", help="An export-csv output directory.")
    ],
    apply: Annotated[
        bool, typer.Option("--apply", help="Write (default: a dry run that writes nothing).")
    ] = False,
    commit_batch_size: CommitBatchSize = 500,
    db_url: DbUrlFlag = None,
    sink: SinkName = None,
    sink_option: SinkOptionFlag = None,
    out: IngestOut = None,
    drain_analytics: Annotated[
        bool, typer.Option("--drain-analytics", help="Run the analytics consumer after the import.")
    ] = False,
    analytics_batch_size: AnalyticsBatchSize = 200,
) -> None:
    """Replay an export through the ingestion contract (dry run unless --apply)."""
    from synthkit_reservoir.ingestion import check_batch_sizes, import_csv
    from synthkit_reservoir.switches import with_unused_drain

    check_batch_sizes(commit_batch_size, analytics_batch_size)
    with start_run(ctx, "import-csv") as run:
        result, problems = import_csv(
            run,
            artifact_dir,
            global_options(ctx).database(db_url),
            apply=apply,
            commit_rows=commit_batch_size,
            sink_name=sink,
            state_file=global_options(ctx).state_file,
            drain=analytics_batch_size if drain_analytics else 0,
            sink_options=sink_option,
            out=out,
        )
        if not apply:
            stderr().print(
                "dry run: nothing was written; add --apply to import these rows", highlight=False
            )
        run.finish(with_unused_drain(ctx, result, drain_analytics), problems)


@app.command(
    "bootstrap",
    rich_help_panel="Database",
    epilog="Example: synthkit --scenario scenarios/demo_city_v1.yaml --strict bootstrap --commit-batch-size 1000 --drain-analytics",
)
def bootstrap_command(
    ctx: typer.Context,
    commit_batch_size: CommitBatchSize = 500,
    db_url: DbUrlFlag = None,
    sink: SinkName = None,
    sink_option: SinkOptionFlag = None,
    out: IngestOut = None,
    # each switch is two flags, not a --x/--no-x pair: a pair's second name is cut at 80 columns
    drain_analytics: Annotated[
        bool,
        typer.Option(
            "--drain-analytics",
            help="Run the analytics consumer afterwards (default: the scenario's bootstrap.drain_analytics).",
        ),
    ] = False,
    no_drain_analytics: Annotated[
        bool, typer.Option("--no-drain-analytics", help="Do not, whatever the scenario says.")
    ] = False,
    analytics_batch_size: AnalyticsBatchSize = 200,
    cluster_places: Annotated[
        bool,
        typer.Option(
            "--cluster-places",
            help="Cluster the trucks' stops into places afterwards (default: the scenario's bootstrap.cluster_places).",
        ),
    ] = False,
    no_cluster_places: Annotated[
        bool, typer.Option("--no-cluster-places", help="Do not, whatever the scenario says.")
    ] = False,
    end_at: Annotated[
        str | None,
        typer.Option(
            "--end-at", help="UTC end of the window (default: now; shards of one run share one)."
        ),
    ] = None,
    shard: ShardFlag = None,
) -> None:
    """Generate the bootstrap.days before now straight into the ingestion database."""

    from synthkit_reservoir.bootstrap import bootstrap
    from synthkit_reservoir.ingestion import check_batch_sizes
    from synthkit_reservoir.switches import switch, with_unused_drain

    check_batch_sizes(commit_batch_size, analytics_batch_size)
    loaded = load(ctx).sharded(Shard.parse(shard))
    end = parse_utc(end_at, "--end-at") if end_at else datetime.now(UTC).replace(microsecond=0)
    opts = global_options(ctx)
    drain = switch(
        "--drain-analytics",
        drain_analytics,
        no_drain_analytics,
        loaded.scenario.bootstrap.drain_analytics,
    )
    cluster = switch(
        "--cluster-places",
        cluster_places,
        no_cluster_places,
        loaded.scenario.bootstrap.cluster_places,
    )
    with start_run(ctx, "bootstrap") as run:
        result, problems = bootstrap(
            run,
            loaded,
            opts.database(db_url),
            now=end,
            commit_rows=commit_batch_size,
            sink_name=sink,
            state_file=opts.state_file,
            strict=opts.strict,
            drain=analytics_batch_size if drain else 0,
            sink_options=sink_option,
            out=out,
            cluster=cluster,
        )
        run.finish(with_unused_drain(ctx, result, drain), problems)
