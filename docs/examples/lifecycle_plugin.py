"""run_log: one JSON line per run in the file SYNTHKIT_RUN_LOG names (a plan, then an outcome)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from synthkit import hookimpl
from synthkit.api import RunPlan


def _log(entry: dict[str, Any]) -> None:
    path = os.environ.get("SYNTHKIT_RUN_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")


@hookimpl
def synthkit_run_started(plan: RunPlan) -> None:
    _log(
        {
            "event": "started",
            "command": plan.command,
            "sink": plan.sink,
            "rows": plan.rows,
            "window": plan.window,
        }
    )


@hookimpl
def synthkit_run_finished(plan: RunPlan, summary: Mapping[str, Any]) -> None:
    _log({"event": "finished", "command": plan.command, "complete": summary.get("complete", True)})


@hookimpl
def synthkit_run_failed(plan: RunPlan, error: BaseException) -> None:
    _log({"event": "failed", "command": plan.command, "error": type(error).__name__})
