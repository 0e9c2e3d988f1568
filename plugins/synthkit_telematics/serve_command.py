"""``synthkit telematics serve``: its flags (the endpoint itself: :mod:`.serve_run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthkit.api import global_options

EXAMPLE = "Example: synthkit --db-url sqlite:///.tmp/telematics.db telematics serve --port 8080"


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: a free one).")] = 8080,
    token_env: Annotated[
        str,
        typer.Option(
            "--token-env",
            help="Environment variable whose value, when set, every request must bear (Authorization: Bearer).",
        ),
    ] = "SYNTHKIT_SERVE_TOKEN",
    ready_file: Annotated[
        Path | None,
        typer.Option(
            "--ready-file",
            help="Written (JSON: its URLs) once the endpoint listens; removed at the end.",
        ),
    ] = None,
    fail_share: Annotated[
        float,
        typer.Option(
            "--fail-share", help="Refuse this share of requests with 503, storing nothing (tests)."
        ),
    ] = 0.0,
    lose_share: Annotated[
        float,
        typer.Option(
            "--lose-share",
            help="Store this share of requests, then answer 503 (a lost answer; tests).",
        ),
    ] = 0.0,
    chaos_seed: Annotated[
        int, typer.Option("--chaos-seed", help="Seed of which requests --fail/--lose-share pick.")
    ] = 0,
) -> None:
    """Run the ingestion endpoint: POST /telematics/ingest stores events exactly once (--db-url, SQLite or PostgreSQL)."""
    from synthkit.api import emit_json, plugins_of
    from synthkit_telematics.serve_run import serve as run_server

    summary = run_server(
        plugins_of(ctx),
        global_options(ctx).database(),
        host=host,
        port=port,
        token_env=token_env,
        ready_file=ready_file,
        fail_share=fail_share,
        lose_share=lose_share,
        chaos_seed=chaos_seed,
    )
    emit_json(summary)
