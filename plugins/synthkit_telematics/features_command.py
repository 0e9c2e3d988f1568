"""``synthkit telematics features``: monthly driver features from events (a file or the
endpoint's database) to a Parquet or CSV file or a database table."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from synthkit.api import global_options

EXAMPLE = "Example: synthkit telematics features --from events.parquet --out features.parquet"


def features(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Events: a .parquet, .csv or .jsonl file, or a database URL (default: --db-url's store, the endpoint's table).",
        ),
    ] = None,
    out: Annotated[
        str,
        typer.Option(
            "--out",
            help="A .parquet or .csv file, or a database URL (table telematics_driver_month).",
        ),
    ] = "driver_month_features.parquet",
) -> None:
    """One row per driver and month: miles, event rates per 100 miles, tailgating ratio... (docs/cli.md)."""
    from synthkit.api import per_second, progress_bar, redact, start_run
    from synthkit_telematics.features import MonthlyFeatures
    from synthkit_telematics.features_io import event_batches, write

    where = source or global_options(ctx).database()
    with start_run(ctx, "telematics features") as run:
        started = time.perf_counter()
        folded = MonthlyFeatures()
        with progress_bar("features", None) as bar:
            for batch in event_batches(where):
                folded.add(batch)
                bar.advance(batch.num_rows)
        table = folded.table()
        written = write(table, out)
        elapsed = time.perf_counter() - started
        summary = {
            "command": "telematics features",
            "from": redact(where),
            "out": written,
            "events": folded.events,
            "drivers": len(set(table.column("driver_id").to_pylist())),
            "rows": table.num_rows,
            "elapsed_seconds": round(elapsed, 3),
            "events_per_second": per_second(folded.events, elapsed),
        }
        run.finish(summary, [])
