"""Command-line flags every producing command shares, so each says the same thing."""

from __future__ import annotations

from typing import Annotated

import typer

from synthkit.dburl import ENV_DB_URL

SinkFlag = Annotated[
    str | None,
    typer.Option(
        "--sink",
        help="Deliver to this sink (a plugin; `synthkit plugins` lists each with its kind and options).",
    ),
]
SinkOptionFlag = Annotated[
    list[str] | None,
    typer.Option(
        "--sink-option",
        metavar="<key=value>",
        help="KEY=VALUE for the sink, checked by its options model (repeatable).",
    ),
]
DbUrlFlag = Annotated[
    str | None,
    typer.Option(
        "--db-url",
        metavar="<url>",
        help="The store, as a URL whose scheme picks the ingest sink (`synthkit plugins` lists "
        f"them; default: ${ENV_DB_URL}, else the default store an installed ingest sink offers).",
    ),
]
BrokerFlag = Annotated[
    str | None,
    typer.Option(
        "--broker",
        metavar="<url>",
        help="The broker, as a URL whose scheme picks the sink (mqtt://HOST:PORT, mqtts://...; default: --host/--port, the environment, the scenario).",
    ),
]
BrokerSinkFlag = Annotated[
    str | None,
    typer.Option(
        "--sink",
        help="A broker sink (default: the one the --broker URL's scheme picks, else mqtt).",
    ),
]
ShardFlag = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="<K/N>",
        help="Only shard K of N: the streams a hash of their id gives it (the N shards together are the whole run).",
    ),
]
ShardsFlag = Annotated[
    int | None,
    typer.Option(
        "--shards",
        metavar="<N>",
        min=1,
        help="Run as N shards (each --shard K/N) on --executor, into one dataset: a part per shard and a manifest (dataset.json) written last.",
    ),
]
ExecutorFlag = Annotated[
    str,
    typer.Option(
        "--executor",
        help="How --shards run: inline (one after another), processes (side by side on this machine) or dask (on Dask workers: pip install 'synthkit[dask]').",
    ),
]
SchedulerFlag = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="<address>",
        help="A Dask scheduler (tcp://HOST:8786) for --executor dask (default: a local cluster of --workers processes).",
    ),
]
WorkersFlag = Annotated[
    int | None,
    typer.Option(
        "--workers",
        metavar="<N>",
        min=1,
        help="Worker processes for --executor processes (default: one per shard) or of the local Dask cluster (default: 2).",
    ),
]
SpreadFlag = Annotated[
    int | None,
    typer.Option(
        "--workers",
        metavar="<N>",
        min=1,
        help="Spread the fleet's connections over N processes, each shard K of N (--shard K/N), with one summary at the end.",
    ),
]
SpreadExecutorFlag = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where --workers run: processes (on this machine) or dask (Dask workers: --scheduler, or a local cluster).",
    ),
]
