"""``synthkit dataset seal DIR`` and ``synthkit dataset verify DIR``: the shards of a run
written by separate ``--shard K/N`` processes (or machines) sealed into one dataset, and a
sealed dataset checked against its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthkit.console import emit_json
from synthkit.dataset import MANIFEST, open_dataset, seal, verify
from synthkit.errors import IncompleteRun

app = typer.Typer(help="Datasets: a sharded run's parts and their manifest.", no_args_is_help=True)

Directory = Annotated[
    Path, typer.Argument(help="The dataset directory (where the shards wrote their parts).")
]


@app.command("seal", epilog="Example: synthkit dataset seal generated/demo_city_v1/jan_demo")
def seal_command(directory: Directory) -> None:
    """Write dataset.json once every shard's part is there, of one run, each file's sha256
    as its part recorded (exit 2 naming what is missing; a sealed dataset is kept as it is)."""
    manifest = seal(directory)
    emit_json(
        {
            "command": "dataset seal",
            "dataset": str(directory),
            "manifest": str(directory / MANIFEST),
            "shards": manifest["shards"],
            "rows": manifest["rows"],
        }
    )


@app.command("verify", epilog="Example: synthkit dataset verify generated/demo_city_v1/jan_demo")
def verify_command(directory: Directory) -> None:
    """Check every file of a sealed dataset against its manifest (exit 3 naming each one
    that differs or is missing)."""
    manifest = open_dataset(directory)
    problems = verify(directory, manifest)
    emit_json(
        {
            "command": "dataset verify",
            "dataset": str(directory),
            "shards": manifest["shards"],
            "rows": manifest["rows"],
            "problems": problems,
            "complete": not problems,
        }
    )
    if problems:
        raise IncompleteRun(
            f"{len(problems)} file(s) of {directory} differ from its manifest",
            hint="`problems` on stdout names each; export the run again",
        )
