"""How bootstrap and import-csv read their on/off flags: a switch given as two flags (typer
shows a ``--x/--no-x`` pair in two columns and cuts the second at 80), and a size given for a
stage that is off (said, not ignored in silence)."""

from __future__ import annotations

from typing import Any

import typer

from synthkit.api import ConfigError


def switch(flag: str, on: bool, off: bool, default: bool) -> bool:
    """A switch given as FLAG or --no-FLAG (neither: ``default``, the scenario's)."""
    if on and off:
        raise ConfigError(
            f"give {flag} or --no-{flag[2:]}, not both",
            hint="leave both out for the scenario's setting",
        )
    return True if on else False if off else default


def with_unused_drain(ctx: typer.Context, result: dict[str, Any], drain: bool) -> dict[str, Any]:
    """``result`` with a warning when --analytics-batch-size was given for a drain that is off
    (it was ignored in silence)."""
    given = getattr(ctx.get_parameter_source("analytics_batch_size"), "name", "") == "COMMANDLINE"
    if not drain and given:
        result["warnings"] = [
            *result.get("warnings", []),
            "--analytics-batch-size was not used: the analytics drain "
            "is off (give --drain-analytics, or set the scenario's bootstrap.drain_analytics)",
        ]
    return result
