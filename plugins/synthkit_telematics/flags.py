"""The flags the telematics commands share (the seed's ``mock_events`` options)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Drivers = Annotated[int, typer.Option("--drivers", help="Number of synthetic drivers.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed: same seed, same bytes.")]
Extreme = Annotated[
    bool,
    typer.Option(
        "--extreme-variance", help="Driver risk profiles scale event rates and intensities."
    ),
]
Weight = Annotated[
    list[str] | None,
    typer.Option(
        "--weight",
        metavar="<name=value>",
        help="Event type weight, NAME=VALUE (repeatable; 0 disables a type).",
    ),
]
WeightsFile = Annotated[
    Path | None,
    typer.Option("--weights-file", help="JSON or YAML mapping of event type to weight."),
]
Mix = Annotated[
    str | None,
    typer.Option(
        "--mix",
        help="A named set of event weights: original (the shares of the old data/mock.py; synthkit-mock's default) or declared (each event type's own weight, the default).",
    ),
]
BaseLat = Annotated[
    float | None, typer.Option("--base-lat", help="Latitude the fleet is based near.")
]
BaseLon = Annotated[
    float | None, typer.Option("--base-lon", help="Longitude the fleet is based near.")
]
StartNow = Annotated[
    str | None, typer.Option("--start", help="Simulated start, ISO 8601 UTC (default: now).")
]
Clock = Annotated[
    str,
    typer.Option(
        "--clock",
        help="wall: each event carries the time it is emitted, in order; simulated: the generator's clock from --start (deterministic, for history).",
    ),
]
UtcOffset = Annotated[
    float | None,
    typer.Option("--utc-offset", help="Local time offset in hours (late-night is local)."),
]
OptionsFile = Annotated[
    Path | None,
    typer.Option(
        "--options-file",
        help="A YAML file of the world the drivers drive in: regions (base points, time zones, "
        "shares), weather per region and hour, traffic by local hour (docs/cli.md).",
    ),
]
