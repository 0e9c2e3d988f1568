"""Command-line flags every producing command shares, so each says the same thing."""

from __future__ import annotations

from typing import Annotated

import typer

SinkFlag = Annotated[
    str | None,
    typer.Option("--sink", help="Deliver to this sink (a plugin; `synthkit plugins` lists each with its kind and options)."),
]
SinkOptionFlag = Annotated[
    list[str] | None,
    typer.Option("--sink-option", help="KEY=VALUE for the sink, checked by its options model (repeatable)."),
]
